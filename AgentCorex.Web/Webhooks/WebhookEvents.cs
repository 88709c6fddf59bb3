using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// Raised where a ledger transition has won. When the job's owner has a webhook for the event, a delivery row is
/// stored per webhook (the payload as it will be sent) and a delivery job is enqueued for each; otherwise this
/// costs a cache look-up. A failure here is logged and never fails the job.
/// </summary>
public sealed partial class WebhookEvents(
    AgentCorexDb db,
    WriteGate writes,
    WebhookSubscriptions subscriptions,
    IBackgroundJobClient hangfire,
    TimeProvider time,
    ILogger<WebhookEvents> logger)
{
    /// <param name="ending">How the run ended, when the caller has it; otherwise the job's stored result or error is read.</param>
    public async ValueTask RaiseAsync(JobEntry job, string eventName, CancellationToken cancellationToken, JobEnding? ending = null)
    {
        try
        {
            if ((await subscriptions.EventBitsAsync(job.OwnerKeyId, cancellationToken) & JobEventNames.Bit(eventName)) == 0)
            {
                return;
            }
            await StoreAndEnqueueAsync(job, eventName, ending, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRaiseFailed(logger, e, eventName, job.Id);
        }
    }

    private async Task StoreAndEnqueueAsync(JobEntry job, string eventName, JobEnding? ending, CancellationToken cancellationToken)
    {
        var owner = job.OwnerKeyId;
        var webhooks = (await db.Webhooks.AsNoTracking().Where(w => w.OwnerKeyId == owner && w.DisabledAt == null).ToListAsync(cancellationToken))
            .Where(w => w.EventNames.Contains(eventName))
            .ToList();
        if (webhooks.Count == 0)
        {
            return;
        }
        if (ending is null && JobStatus.IsFinal(JobEventNames.StatusOf(eventName)))
        {
            job = await db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == job.Id, cancellationToken) ?? job;
        }
        var now = time.GetUtcNow();
        var payload = WebhookPayload.Serialize(eventName, now, job, ending);
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
            db.WebhookDeliveries.AddRange(deliveries);
            await db.SaveChangesAsync(cancellationToken);
            db.ChangeTracker.Clear();
        }
        foreach (var delivery in deliveries)
        {
            WebhookDispatcher.Enqueue(hangfire, delivery.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not queue the webhook deliveries of {Event} for job {JobId}")]
    private static partial void LogRaiseFailed(ILogger logger, Exception exception, string @event, string jobId);
}
