using AgentCorex.Web.Api;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// The safety net under <see cref="ExecutionSlots"/>: at start and every Jobs:ReconcileInterval, the keys with
/// parked jobs, a page of them a pass, are offered their free slots. That hands over what a crash left parked (a node that died between
/// ending a job and handing over the next, or mid direct execution, whose slot counts until it expires), and
/// what waits under a limit that was raised or under limits that were switched off. A revoked key's parked jobs are
/// canceled instead (<see cref="RevokedKeyJobs"/>): no slot ever hands them over, and its revocation's own cancel may
/// have been cut short, or have read the key's jobs before a submit authenticated just before it parked one. First,
/// the jobs this node took out of parking but failed to hand to Hangfire are enqueued again (<see cref="FailedHandOvers"/>),
/// and what the embedded database's answers remembered of keys is dropped (<see cref="ISlotQueries.ForgetAll"/>).
/// </summary>
internal sealed partial class ParkedJobsSweeper(
    IServiceScopeFactory scopes,
    IDirectExecutions directs,
    ISlotQueries queries,
    FailedHandOvers failedHandOvers,
    StartRecovery recovery,
    IBackgroundJobClient hangfire,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<ParkedJobsSweeper> logger) : BackgroundLoop
{
    private const int Batch = 500;

    /// <summary>
    /// The last key of the last pass's page: each pass reads the next <see cref="Batch"/> keys with parked jobs, and
    /// starts again from the first after a page that was not full. Keys whose parked jobs wait behind held slots
    /// would otherwise fill the first page of every pass, and a key past them never be swept.
    /// </summary>
    private string? after;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Else a job it hands over is enqueued again by the start's recovery. A stop before the recovery ended (a refused
        // start) cancels the wait: a quiet end (BackgroundLoop).
        await recovery.WaitAsync(stoppingToken);
        await PeriodicWork.RunAsync(() => options.Value.ReconcileInterval, time, atOnce: true, SweepAsync, e => LogSweepFailed(logger, e),
            new DatabaseOutageLog(logger, "The sweep of parked jobs"), stoppingToken);
    }

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        failedHandOvers.RetryAll(hangfire);
        queries.ForgetAll();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var slots = scope.ServiceProvider.GetRequiredService<ExecutionSlots>();

        await directs.PruneAsync(db, time.GetUtcNow().UtcDateTime, cancellationToken);
        var from = after;
        var keys = await db.Jobs.AsNoTracking()
            .Where(j => j.Parked && j.Status == JobStatus.Queued && (from == null || string.Compare(j.OwnerKeyId, from) > 0))
            .Select(j => j.OwnerKeyId)
            .Distinct()
            .OrderBy(key => key)
            .Take(Batch)
            .ToListAsync(cancellationToken);
        after = keys.Count == Batch ? keys[^1] : null;
        HashSet<string> revoked = keys.Count == 0 ? [] : await db.ApiKeys.AsNoTracking()
            .Where(k => keys.Contains(k.Id) && k.RevokedAt != null)
            .Select(k => k.Id)
            .ToHashSetAsync(cancellationToken);
        foreach (var key in keys)
        {
            if (revoked.Contains(key))
            {
                await scope.ServiceProvider.GetRequiredService<RevokedKeyJobs>().CancelQueuedAsync(key, cancellationToken);
            }
            else
            {
                await slots.PromoteAsync(key, cancellationToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The sweep of parked jobs failed; it will run again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
