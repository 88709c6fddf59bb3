using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Jobs:Retention, when set: every <see cref="Interval"/> each node deletes the jobs that ended (completed, failed,
/// canceled, timeout) longer ago than it, <see cref="Batch"/> rows a statement with a pause between, so that no
/// statement holds the embedded database's writer or PostgreSQL's row locks for long. Queued and running jobs are never
/// deleted, nor a job whose events' deliveries are not stored yet (the webhook sweep still needs it). The totals follow
/// by their triggers; webhook deliveries keep their own payload, and go by Webhooks:DeliveryRetention.
/// </summary>
/// <remarks>
/// Two nodes at once are harmless: on PostgreSQL each takes rows no other statement has locked (SKIP LOCKED), so they
/// neither wait on each other nor delete a row twice; SQL Server's second DELETE finds the first's rows gone.
/// </remarks>
public sealed partial class JobRetention(
    IServiceScopeFactory scopes,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<JobRetention> logger) : BackgroundLoop
{
    /// <summary>The least Jobs:Retention: Hangfire keeps a finished job at most a day, so the dashboard never links a job the ledger no longer has.</summary>
    public static readonly TimeSpan Least = TimeSpan.FromDays(1);

    /// <summary>A sweep with nothing to delete costs an index probe per final status; the ledger holds a minute's jobs past the retention at most.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <summary>Rows per statement: about 10 ms of the embedded writer's time on the tests' small database, in one of its group commits.</summary>
    private const int Batch = 1_000;

    /// <summary>Between two statements of one sweep, so that other writes take their turns.</summary>
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// created_at bounds the search too: a job ends after it was created, so the status index (status, created_at)
    /// finds the candidates, and a sweep with nothing to delete reads only the few jobs that ran across the cut-off.
    /// </summary>
    private static readonly string Ended =
        $$"""
        SELECT job_id FROM jobs
        WHERE status IN ('{{JobStatus.Completed}}', '{{JobStatus.Failed}}', '{{JobStatus.Canceled}}', '{{JobStatus.Timeout}}')
            AND created_at < {0} AND completed_at < {0} AND events_pending = 0
        LIMIT {{Batch}}
        """;

    internal static readonly string DeleteSql = $"DELETE FROM jobs WHERE job_id IN ({Ended})";

    private static readonly string PostgreSqlDeleteSql = $"DELETE FROM jobs WHERE job_id IN ({Ended} FOR UPDATE SKIP LOCKED)";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(() => Interval, time, atOnce: true, SweepAsync, e => LogSweepFailed(logger, e),
            new DatabaseOutageLog(logger, "The ledger's retention sweep"), stoppingToken);

    /// <returns>How many jobs were deleted.</returns>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Retention is not { } retention)
        {
            return 0;
        }
        var before = time.GetUtcNow().UtcDateTime - retention;
        var deleted = 0;
        try
        {
            while (true)
            {
                var batch = await DeleteBatchAsync(before, cancellationToken);
                deleted += batch;
                if (batch < Batch)
                {
                    return deleted;
                }
                await Task.Delay(Pause, time, cancellationToken);
            }
        }
        finally
        {
            // Once a sweep, also when a failure or a stop ends it part way.
            if (deleted > 0)
            {
                LogDeleted(logger, deleted, before);
            }
        }
    }

    private async Task<int> DeleteBatchAsync(DateTime before, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        if (scope.ServiceProvider.GetService<SqliteWriter>() is { } sqlite)
        {
            return await sqlite.ExecuteAsync(DeleteSql, [before], cancellationToken);
        }
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        if (db.Database.IsNpgsql())
        {
            return await db.Database.ExecuteSqlRawAsync(PostgreSqlDeleteSql, [before], cancellationToken);
        }
        return await db.Jobs
            .Where(j => (j.Status == JobStatus.Completed || j.Status == JobStatus.Failed || j.Status == JobStatus.Canceled || j.Status == JobStatus.Timeout)
                && j.CreatedAt < before && j.CompletedAt < before && j.EventsPending == 0)
            .Take(Batch)
            .ExecuteDeleteAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} job(s) that ended before {Before:u} (Jobs:Retention)")]
    private static partial void LogDeleted(ILogger logger, int count, DateTime before);

    [LoggerMessage(Level = LogLevel.Error, Message = "The ledger's retention sweep failed; it will run again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
