using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// Every Webhooks:SweepInterval, on every node and every database, three repairs and two clean-ups:
/// <list type="bullet">
/// <item>an event a job raised more than Webhooks:RepairGrace ago whose deliveries were never stored (a crash
/// between the ledger's change and <see cref="WebhookEvents.RaiseAsync"/>; see <see cref="Jobs.JobEntry.EventsPending"/>)
/// is raised again;</item>
/// <item>a pending delivery past due by Webhooks:RepairGrace with no attempt in flight is enqueued again (the
/// delivery rows are the outbox: a crash between storing a row and enqueueing its job, or between an attempt
/// and scheduling the next, loses only the job); but one due after the end of its schedule (enqueued again by a
/// sweep after it already) is given up, its attempt recorded as not sent, so that a delivery whose every run fails
/// before recording anything ends as its schedule does;</item>
/// <item>ended deliveries older than Webhooks:DeliveryRetention are deleted with their attempts, in bounded batches;</item>
/// <item>the <see cref="ReceiverGate"/> forgets receivers idle for the retry schedule's span.</item>
/// </list>
/// </summary>
internal sealed partial class WebhookSweeper(
    IServiceScopeFactory scopes,
    IOptions<WebhooksOptions> options,
    ReceiverGate gate,
    TimeProvider time,
    ILogger<WebhookSweeper> logger) : BackgroundLoop
{
    private const int Batch = 500;
    private const int MaxBatchesPerSweep = 20;

    /// <summary>A retry capped at the schedule's end may be stored a little after it (PostgreSQL keeps microseconds).</summary>
    private static readonly TimeSpan EndRounding = TimeSpan.FromSeconds(1);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(() => options.Value.SweepInterval, time, atOnce: false, SweepAsync, e => LogSweepFailed(logger, e),
            new DatabaseOutageLog(logger, "The webhook delivery sweep"), stoppingToken);

    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        gate.ForgetIdle(RetrySchedule.Span(options.Value));
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var writes = scope.ServiceProvider.GetRequiredService<WriteGate>();
        await RaiseLostEventsAsync(db, scope.ServiceProvider.GetRequiredService<WebhookEvents>(), cancellationToken);
        await RepairAsync(db, writes, scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>(),
            scope.ServiceProvider.GetRequiredService<WebhookDispatcher>(), cancellationToken);
        await PruneAsync(db, writes, cancellationToken);
    }

    private async Task RaiseLostEventsAsync(AgentCorexDb db, WebhookEvents events, CancellationToken cancellationToken)
    {
        // A job's latest change is its latest timestamp; the raise that follows a change takes milliseconds.
        var overdue = time.GetUtcNow().UtcDateTime - options.Value.RepairGrace;
        var jobs = await db.Jobs.AsNoTracking()
            .Where(j => j.EventsPending != 0 && (j.CompletedAt ?? j.StartedAt ?? j.CreatedAt) < overdue)
            .OrderBy(j => j.CreatedAt)
            .Take(Batch)
            .ToListAsync(cancellationToken);
        foreach (var job in jobs)
        {
            foreach (var eventName in JobEventNames.All)
            {
                var bit = job.EventsPending & JobEventNames.Bit(eventName);
                if (bit != 0)
                {
                    await events.RaiseAsync(job, eventName, bit, cancellationToken);
                }
            }
        }
        if (jobs.Count > 0)
        {
            LogEventsRaisedAgain(logger, jobs.Count);
        }
    }

    private async Task RepairAsync(AgentCorexDb db, WriteGate writes, IBackgroundJobClient hangfire, WebhookDispatcher dispatcher, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var overdue = now - options.Value.RepairGrace;
        var span = RetrySchedule.Span(options.Value);
        var lost = await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.Status == DeliveryStatus.Pending && d.NextAttemptAt < overdue && (d.InFlightUntil == null || d.InFlightUntil < now))
            .OrderBy(d => d.NextAttemptAt)
            .Take(Batch)
            .Select(d => new { d.Id, d.Attempts, d.CreatedAt, d.NextAttemptAt })
            .ToListAsync(cancellationToken);
        var repaired = 0;
        foreach (var delivery in lost)
        {
            // Its last attempt, lost in a crash, is enqueued again once past the end (its due time then moves past
            // it); found again, its runs fail before recording anything (or a Retry-After past the end lost its job).
            if (delivery.NextAttemptAt > delivery.CreatedAt + span + EndRounding)
            {
                await dispatcher.GiveUpAsync(delivery.Id, delivery.Attempts + 1, cancellationToken);
                continue;
            }
            // The claim: the node that moves the due time enqueues it; another sweeping at once finds it no longer overdue.
            int claimed;
            using (await writes.EnterAsync(cancellationToken))
            {
                claimed = await db.WebhookDeliveries
                    .Where(d => d.Id == delivery.Id && d.Status == DeliveryStatus.Pending && d.Attempts == delivery.Attempts && d.NextAttemptAt < overdue)
                    .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, now), cancellationToken);
            }
            if (claimed == 1)
            {
                WebhookDispatcher.Enqueue(hangfire, delivery.Id, delivery.Attempts + 1);
                repaired++;
            }
        }
        if (repaired > 0)
        {
            LogRepaired(logger, repaired);
        }
    }

    private async Task PruneAsync(AgentCorexDb db, WriteGate writes, CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow().UtcDateTime - options.Value.DeliveryRetention;
        for (var batch = 0; batch < MaxBatchesPerSweep; batch++)
        {
            int deleted;
            using (await writes.EnterAsync(cancellationToken))
            {
                // Their attempts go with them (ON DELETE CASCADE).
                deleted = await db.WebhookDeliveries
                    .Where(d => d.Status != DeliveryStatus.Pending && d.CreatedAt < before)
                    .OrderBy(d => d.CreatedAt)
                    .Take(Batch)
                    .ExecuteDeleteAsync(cancellationToken);
            }
            if (deleted < Batch)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} job(s) had raised events whose webhook deliveries were never stored: raised again")]
    private static partial void LogEventsRaisedAgain(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} pending webhook deliveries were overdue with no attempt in flight: enqueued again")]
    private static partial void LogRepaired(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "The webhook delivery sweep failed; it will run again")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
