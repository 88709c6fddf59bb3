using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// On PostgreSQL, a job's end adds a row to job_total_changes rather than to its total in job_totals, a row every
/// end of a key's tool would write and wait on (migration JobTotals). Every <see cref="Interval"/> each node moves
/// the changes into job_totals in one statement: a total read at any moment sees each change in exactly one of the
/// two tables. Two nodes at once are safe: the second's DELETE waits for the first's rows and then finds them gone,
/// and both write job_totals in the same order.
/// </summary>
public sealed partial class JobTotalsCompaction(IServiceScopeFactory scopes, TimeProvider time, ILogger<JobTotalsCompaction> logger) : BackgroundLoop
{
    /// <summary>Often enough that a total adds only a few seconds of ends from job_total_changes.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private const string MoveChanges =
        """
        WITH moved AS (DELETE FROM job_total_changes RETURNING owner_key_id, tool, status, change)
        INSERT INTO job_totals (owner_key_id, tool, status, jobs)
        SELECT owner_key_id, tool, status, SUM(change) FROM moved GROUP BY owner_key_id, tool, status
        ORDER BY owner_key_id, tool, status
        ON CONFLICT (owner_key_id, tool, status) DO UPDATE SET jobs = job_totals.jobs + excluded.jobs
        """;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(() => Interval, time, atOnce: true, CompactAsync, e => LogCompactionFailed(logger, e),
            new DatabaseOutageLog(logger, "Moving job totals' changes"), stoppingToken);

    /// <returns>How many totals changed.</returns>
    public async Task<int> CompactAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        return await db.Database.ExecuteSqlRawAsync(MoveChanges, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Moving job totals' changes failed; they are still counted, and the next pass moves them")]
    private static partial void LogCompactionFailed(ILogger logger, Exception exception);
}
