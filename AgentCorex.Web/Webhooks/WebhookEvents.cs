using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// The webhook side of a job's events, an outbox in two steps. Before a ledger transition, <see cref="PendingAsync"/>
/// says whether the owner's webhooks want its event (a cache look-up); the transition marks it pending in the
/// same statement (<see cref="JobEntry.EventsPending"/>). After it, <see cref="RaiseAsync"/> clears the mark and
/// stores a delivery row per webhook (the payload as it will be sent) in one transaction, then enqueues a
/// delivery job for each. A crash between the steps leaves the mark, which the webhook sweep raises again; the
/// conditional clearing makes sure only one of them stores the deliveries. A failure here is logged and never
/// fails the job.
/// </summary>
public sealed partial class WebhookEvents(
    AgentCorexDb db,
    WriteGate writes,
    WebhookSubscriptions subscriptions,
    IBackgroundJobClient hangfire,
    TimeProvider time,
    ILogger<WebhookEvents> logger)
{
    /// <summary>
    /// The event's bit when a webhook of the owner subscribes to it, to be marked pending by the transition;
    /// otherwise 0. When the subscriptions cannot be read, the bit: marked, the event is looked at again when it
    /// is raised, and by the sweep.
    /// </summary>
    public async ValueTask<int> PendingAsync(string ownerKeyId, string eventName, CancellationToken cancellationToken)
    {
        var bit = JobEventNames.Bit(eventName);
        try
        {
            return await subscriptions.EventBitsAsync(ownerKeyId, cancellationToken) & bit;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSubscriptionsUnread(logger, e, eventName);
            return bit;
        }
    }

    /// <param name="job">
    /// The job as the event's change left it; for a final event, the job as it was before (its status not yet the
    /// event's) when the caller does not have its end: the row is read then.
    /// </param>
    /// <param name="pending">What <see cref="PendingAsync"/> gave for this event: nothing is done when it is 0.</param>
    public async ValueTask RaiseAsync(JobEntry job, string eventName, int pending, CancellationToken cancellationToken)
    {
        if (pending == 0)
        {
            return;
        }
        try
        {
            await StoreAndEnqueueAsync(job, eventName, pending, cancellationToken);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            // An outage, not a fault: one line, as the rest of the node says it (README, Logs), not a stack trace per event.
            LogRaiseUnreachable(logger, eventName, job.Id, e.GetBaseException().Message);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRaiseFailed(logger, e, eventName, job.Id);
        }
    }

    private async Task StoreAndEnqueueAsync(JobEntry job, string eventName, int bit, CancellationToken cancellationToken)
    {
        var owner = job.OwnerKeyId;
        var webhooks = (await db.Webhooks.AsNoTracking().Where(w => w.OwnerKeyId == owner && w.DisabledAt == null).ToListAsync(cancellationToken))
            .Where(w => w.EventNames.Contains(eventName))
            .ToList();
        var status = JobEventNames.StatusOf(eventName);
        if (webhooks.Count > 0 && JobStatus.IsFinal(status) && job.Status != status)
        {
            job = await db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == job.Id, cancellationToken) ?? job;
        }
        var now = time.GetUtcNow();
        var payload = webhooks.Count > 0 ? WebhookPayload.Serialize(eventName, now, job) : "";
        var deliveries = webhooks.Select(w => new WebhookDelivery
        {
            Id = ExecutionIds.New("msg_"),
            WebhookId = w.Id,
            Event = eventName,
            JobId = job.Id,
            Payload = payload,
            Status = DeliveryStatus.Pending,
            CreatedAt = now.UtcDateTime,
            NextAttemptAt = now.UtcDateTime,
        }).ToList();
        using (await writes.EnterAsync(cancellationToken))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var jobId = job.Id;
            // Whoever clears the mark stores the deliveries: this raise, or the sweep's after a crash, never both.
            var cleared = await db.Jobs
                .Where(j => j.Id == jobId && (j.EventsPending & bit) != 0)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.EventsPending, j => j.EventsPending & ~bit), cancellationToken);
            if (cleared == 0)
            {
                return;
            }
            deliveries = await OfWebhooksStillThereAsync(deliveries, cancellationToken);
            db.WebhookDeliveries.AddRange(deliveries);
            try
            {
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
            }
            finally
            {
                db.ChangeTracker.Clear(); // stored or not, they must not ride along with a later SaveChanges of this scope
            }
        }
        foreach (var delivery in deliveries)
        {
            WebhookDispatcher.Enqueue(hangfire, delivery.Id);
        }
    }

    /// <summary>
    /// The deliveries whose webhook was not deleted since the webhooks were read: one deleted would fail the insert
    /// (its foreign key), and with it this event's deliveries to the owner's other webhooks until the sweep's raise.
    /// On PostgreSQL the webhooks are locked until the commit, in the order of their ids (so that two such locks never
    /// wait on each other crosswise), so that a deletion waits, then takes their new deliveries with it; SQLite's writer
    /// lock, held since the clearing of the mark, keeps them already.
    /// </summary>
    private async Task<List<WebhookDelivery>> OfWebhooksStillThereAsync(List<WebhookDelivery> deliveries, CancellationToken cancellationToken)
    {
        if (deliveries.Count == 0)
        {
            return deliveries;
        }
        var ids = deliveries.Select(d => d.WebhookId).ToArray();
        var there = db.Database.IsNpgsql()
            ? await db.Database.SqlQuery<string>($"""SELECT webhook_id AS "Value" FROM webhooks WHERE webhook_id = ANY({ids}) ORDER BY webhook_id FOR KEY SHARE""").ToListAsync(cancellationToken)
            : await db.Webhooks.Where(w => ids.Contains(w.Id)).Select(w => w.Id).ToListAsync(cancellationToken);
        return deliveries.Where(d => there.Contains(d.WebhookId)).ToList();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read which webhooks want {Event}: it is marked pending, to be looked at again")]
    private static partial void LogSubscriptionsUnread(ILogger logger, Exception exception, string @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store the webhook deliveries of {Event} for job {JobId}, the database cannot be reached ({Reason}); the webhook sweep will try again")]
    private static partial void LogRaiseUnreachable(ILogger logger, string @event, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not store the webhook deliveries of {Event} for job {JobId}; the webhook sweep will try again")]
    private static partial void LogRaiseFailed(ILogger logger, Exception exception, string @event, string jobId);
}
