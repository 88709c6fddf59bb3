using System.ComponentModel;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// The Hangfire job that makes one attempt of one delivery, on the "webhooks" queue that only the webhook workers
/// serve, so a slow or dead receiver never holds a tool worker; <see cref="ReceiverGate"/> keeps it from holding
/// the other receivers' workers. It schedules the next attempt itself (Hangfire's automatic retry is off for
/// every job): after a timeout, a connection error, 429 or 5xx, until Webhooks:MaxAttempts, within the schedule's
/// <see cref="RetrySchedule.Span"/>. Any other answer is final: 2xx delivered, 3xx (redirects are not followed) and
/// 4xx failed; 410 Gone also disables the webhook. An attempt due while its receiver cannot take it (its circuit
/// open, or no room for it on this node) is not made and not spent: it waits, longer each time
/// (<see cref="RetrySchedule.PutOff"/>), and fails only at the end of the span. An attempt this server cannot make
/// is recorded all the same: at once final when the webhook's secret cannot be read (nothing could sign it later
/// either), spent and retried when anything else throws (it may pass).
/// The job returns what the attempt came to ("HTTP 500, now pending, attempt 3 at ..."): the run of the job succeeds
/// whatever the receiver answered, so the dashboard's Succeeded page shows that as the job's result.
/// </summary>
public sealed partial class WebhookDispatcher(
    AgentCorexDb db,
    WriteGate writes,
    WebhookSender sender,
    ReceiverGate gate,
    WebhookSubscriptions subscriptions,
    IBackgroundJobClient hangfire,
    AgentCorexMetrics metrics,
    IOptions<WebhooksOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger)
{
    public const string Queue = "webhooks";

    /// <summary>How much longer than an attempt's timeout its claim lasts: time to record it.</summary>
    private static readonly TimeSpan ClaimMargin = TimeSpan.FromMinutes(1);

    private const string NotMade = "Not made: its webhook was deleted, the delivery has ended, or this attempt was already made";

    public static string Enqueue(IBackgroundJobClient hangfire, string deliveryId, int attempt = 1) =>
        hangfire.Enqueue<WebhookDispatcher>(d => d.DeliverAsync(deliveryId, attempt, CancellationToken.None));

    public static string Schedule(IBackgroundJobClient hangfire, string deliveryId, int attempt, TimeSpan delay) =>
        hangfire.Schedule<WebhookDispatcher>(d => d.DeliverAsync(deliveryId, attempt, CancellationToken.None), delay);

    [Queue(Queue)]
    [DisplayName("webhook delivery {0}, attempt {1}")]
    public async Task<string> DeliverAsync(string deliveryId, int attempt, CancellationToken cancellationToken)
    {
        if (await FindAsync(deliveryId, attempt, cancellationToken) is not (var delivery, var webhook))
        {
            return NotMade;
        }
        using var scope = JobLogScope.Begin(logger, delivery.JobId, WebhookPayload.ToolOf(delivery.Payload), webhook.OwnerKeyId);
        if (webhook.DisabledAt is not null)
        {
            return await RecordAsync(webhook, delivery, attempt, Sent.NotSent("the webhook is disabled (its receiver answered 410 Gone)"), claimed: false);
        }

        var admission = gate.TryEnter(webhook.Id);
        if (admission.Kind != AdmissionKind.Go)
        {
            return await WaitForReceiverAsync(webhook, delivery, attempt, admission, cancellationToken);
        }

        Sent? sent = null;
        var claimed = false;
        try
        {
            claimed = await ClaimAsync(deliveryId, attempt, cancellationToken);
            if (!claimed)
            {
                return "Not made: another run of this attempt is making it";
            }
            sent = await SendAsync(webhook, delivery, attempt, cancellationToken);
        }
        finally
        {
            if (sent is { Made: true })
            {
                gate.Exit(webhook.Id, !sent.Unanswered, sent.Duration);
            }
            else
            {
                gate.Withdraw(webhook.Id);
                if (claimed && sent is null)
                {
                    await ReleaseAsync(deliveryId); // stopped mid-attempt (shutting down): Hangfire's next run may make it
                }
            }
        }
        return await RecordAsync(webhook, delivery, attempt, sent, claimed: true);
    }

    /// <summary>
    /// Ends a delivery the sweep found past the end of its schedule with its attempt still not made, as one whose
    /// every run fails before it can record anything (the database refusing the claim, a bug) would otherwise be
    /// enqueued again for ever: the attempt is recorded as not sent, unless a run of it has recorded it meanwhile.
    /// </summary>
    public async Task<string> GiveUpAsync(string deliveryId, int attempt, CancellationToken cancellationToken)
    {
        if (await FindAsync(deliveryId, attempt, cancellationToken) is not (var delivery, var webhook))
        {
            return NotMade;
        }
        using var scope = JobLogScope.Begin(logger, delivery.JobId, WebhookPayload.ToolOf(delivery.Payload), webhook.OwnerKeyId);
        return await RecordAsync(webhook, delivery, attempt,
            Sent.NotSent("its attempt could not be made (the server's log says why), and the delivery's retry schedule has run out"), claimed: false);
    }

    /// <summary>The delivery and its webhook while this attempt is still to be made; otherwise null (<see cref="NotMade"/>).</summary>
    private async Task<(WebhookDelivery Delivery, Webhook Webhook)?> FindAsync(string deliveryId, int attempt, CancellationToken cancellationToken)
    {
        var delivery = await db.WebhookDeliveries.AsNoTracking().SingleOrDefaultAsync(d => d.Id == deliveryId, cancellationToken);
        if (delivery is null || delivery.Status != DeliveryStatus.Pending || delivery.Attempts >= attempt)
        {
            return null;
        }
        var webhook = await db.Webhooks.AsNoTracking().SingleOrDefaultAsync(w => w.Id == delivery.WebhookId, cancellationToken);
        return webhook is null ? null : (delivery, webhook);
    }

    /// <summary>
    /// The request, or what kept this server from making it: an exception but the stopping of the job ends the
    /// attempt, not the job, so that it is recorded and retried on the schedule rather than enqueued again by the
    /// sweep, unseen. The database failing to record it still fails the job: that is retried whole.
    /// </summary>
    private async Task<Sent> SendAsync(Webhook webhook, WebhookDelivery delivery, int attempt, CancellationToken cancellationToken)
    {
        try
        {
            return await sender.SendAsync(webhook, delivery, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogFaulted(logger, e, delivery.Id, webhook.Id, attempt);
            return Sent.Faulted(e);
        }
    }

    /// <summary>Marks the attempt in flight, so that a second run of it (a repair, a duplicate) does not send it too.</summary>
    private async Task<bool> ClaimAsync(string deliveryId, int attempt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        using var _ = await writes.EnterAsync(cancellationToken);
        return await db.WebhookDeliveries
            .Where(d => d.Id == deliveryId && d.Status == DeliveryStatus.Pending && d.Attempts < attempt
                && (d.InFlightUntil == null || d.InFlightUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.InFlightUntil, now + options.Value.AttemptTimeout + ClaimMargin), cancellationToken) == 1;
    }

    private async Task ReleaseAsync(string deliveryId)
    {
        using var _ = await writes.EnterAsync(CancellationToken.None);
        await db.WebhookDeliveries.Where(d => d.Id == deliveryId)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.InFlightUntil, (DateTime?)null), CancellationToken.None);
    }

    /// <summary>No room for the attempt on this node now: the same attempt later, none spent.</summary>
    private async Task PutOffAsync(string deliveryId, int attempt, DateTimeOffset at, CancellationToken cancellationToken)
    {
        int moved;
        using (await writes.EnterAsync(cancellationToken))
        {
            moved = await db.WebhookDeliveries
                .Where(d => d.Id == deliveryId && d.Status == DeliveryStatus.Pending && d.Attempts < attempt)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.NextAttemptAt, at.UtcDateTime), cancellationToken);
        }
        if (moved == 1)
        {
            Schedule(hangfire, deliveryId, attempt, at - time.GetUtcNow());
        }
    }

    /// <summary>
    /// The receiver cannot take the attempt now: it did not answer a moment ago (its circuit is open), or this node's
    /// workers for it are busy (a slow receiver's one attempt, a healthy one's half of the workers). The attempt
    /// waits, not spent, as its receiver has not been tried (a dead receiver's backlog must not use its deliveries'
    /// attempts up in a minute of open circuit), longer each time (a backlog would otherwise come back at the rate
    /// its receiver frees up, each time a write and a Hangfire job). At the end of the delivery's schedule it is given
    /// up instead, the attempt recorded as not sent.
    /// </summary>
    private async Task<string> WaitForReceiverAsync(Webhook webhook, WebhookDelivery delivery, int attempt, Admission admission, CancellationToken cancellationToken)
    {
        var why = admission.Kind == AdmissionKind.CircuitOpen
            ? "its receiver did not answer a moment ago (circuit open)"
            : "this node's workers for its receiver were busy";
        var now = time.GetUtcNow();
        var created = CreatedAt(delivery);
        var end = EndOf(delivery);
        if (now >= end)
        {
            return await RecordAsync(webhook, delivery, attempt, Sent.NotSent($"{why}, and the delivery's retry schedule has run out"), claimed: false);
        }
        var at = RetrySchedule.PutOff(now, admission.At, created > admission.Since ? created : admission.Since, end, options.Value);
        await PutOffAsync(delivery.Id, attempt, at, cancellationToken);
        LogPutOff(logger, delivery.Id, webhook.Id, attempt, why, at.UtcDateTime);
        return $"Put off to {at.UtcDateTime:u}: {why}; no attempt spent";
    }

    private static DateTimeOffset CreatedAt(WebhookDelivery delivery) => new(DateTime.SpecifyKind(delivery.CreatedAt, DateTimeKind.Utc));

    /// <summary>When the delivery's schedule ends: no retry comes due after it, but one the receiver asked for.</summary>
    private DateTimeOffset EndOf(WebhookDelivery delivery) => CreatedAt(delivery) + RetrySchedule.Span(options.Value);

    /// <summary>Records the attempt and schedules the next; returns what it came to, as the log line says it.</summary>
    private async Task<string> RecordAsync(Webhook webhook, WebhookDelivery delivery, int attempt, Sent sent, bool claimed)
    {
        var deliveryId = delivery.Id;
        var at = time.GetUtcNow();
        var attemptedAt = at - sent.Duration;
        var end = EndOf(delivery);
        var retry = sent.Retryable && attempt < options.Value.MaxAttempts && at < end;
        var status = sent.Delivered ? DeliveryStatus.Delivered : retry ? DeliveryStatus.Pending : DeliveryStatus.Failed;
        var nextAt = RetrySchedule.NextAttempt(at, attempt, sent.RetryAfter, end, options.Value);
        DateTime? next = retry ? nextAt.UtcDateTime : null;
        var now = at.UtcDateTime;

        using (await writes.EnterAsync(CancellationToken.None))
        {
            // The log row and the new state together; one conditional UPDATE decides, should Hangfire run this
            // attempt twice, which run records it and goes on. A run that sent nothing yields to one sending.
            await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
            var won = await db.WebhookDeliveries
                .Where(d => d.Id == deliveryId && d.Status == DeliveryStatus.Pending && d.Attempts < attempt
                    && (claimed || d.InFlightUntil == null || d.InFlightUntil < now))
                .ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.Attempts, attempt)
                    .SetProperty(d => d.Status, status)
                    .SetProperty(d => d.NextAttemptAt, next)
                    .SetProperty(d => d.InFlightUntil, (DateTime?)null), CancellationToken.None) == 1;
            if (!won)
            {
                return "Not recorded: another run of this attempt recorded it";
            }
            db.WebhookAttempts.Add(new WebhookAttempt
            {
                DeliveryId = deliveryId,
                Attempt = attempt,
                StatusCode = sent.StatusCode,
                DurationMs = (long)sent.Duration.TotalMilliseconds,
                Error = sent.Error?[..Math.Min(sent.Error.Length, WebhookAttemptConfiguration.MaxErrorLength)],
                AttemptedAt = attemptedAt.UtcDateTime,
            });
            await db.SaveChangesAsync(CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
        }
        metrics.WebhookAttempted(status == DeliveryStatus.Pending ? "retrying" : status);
        // A delivery that has failed for good is a Warning, but one not sent as its webhook is disabled: that has a
        // line of its own, and a backlog would write one per delivery (GET /webhooks/{id}/deliveries shows them).
        var level = (claimed, status) switch
        {
            (true, DeliveryStatus.Failed) => LogLevel.Warning,
            (true, _) => LogLevel.Information,
            (false, DeliveryStatus.Failed) when webhook.DisabledAt is null => LogLevel.Warning,
            _ => LogLevel.Debug,
        };
        if (sent.Error is null)
        {
            LogAttempt(logger, level, deliveryId, webhook.Id, attempt, sent.StatusCode, status);
        }
        else
        {
            LogAttemptFailed(logger, level, deliveryId, webhook.Id, attempt, sent.Error, status);
        }
        if (retry)
        {
            Schedule(hangfire, deliveryId, attempt + 1, nextAt - time.GetUtcNow());
        }
        if (sent.StatusCode == StatusCodes.Status410Gone)
        {
            await DisableAsync(webhook);
        }
        var outcome = $"{sent.Error ?? $"status {sent.StatusCode}"}, now {status}";
        return retry ? $"{outcome}, attempt {attempt + 1} at {next:u}" : outcome;
    }

    private async Task DisableAsync(Webhook webhook)
    {
        var now = time.GetUtcNow().UtcDateTime;
        using (await writes.EnterAsync(CancellationToken.None))
        {
            await db.Webhooks.Where(w => w.Id == webhook.Id && w.DisabledAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.DisabledAt, now), CancellationToken.None);
        }
        subscriptions.Forget(webhook.OwnerKeyId);
        LogDisabled(logger, webhook.Id);
    }

    [LoggerMessage(Message = "Webhook delivery {DeliveryId} to {WebhookId}, attempt {Attempt}: status {StatusCode}, now {Status}")]
    private static partial void LogAttempt(ILogger logger, LogLevel level, string deliveryId, string webhookId, int attempt, int? statusCode, string status);

    // Its own line: the error says what came back ("HTTP 500") or why nothing did, where a status would read "(null)".
    [LoggerMessage(Message = "Webhook delivery {DeliveryId} to {WebhookId}, attempt {Attempt}: {Error}, now {Status}")]
    private static partial void LogAttemptFailed(ILogger logger, LogLevel level, string deliveryId, string webhookId, int attempt, string error, string status);

    // Debug: a dead or slow receiver's backlog would write a line per delivery each time one came due.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook delivery {DeliveryId} to {WebhookId}, attempt {Attempt}: not made, {Reason}; put off to {At:u}")]
    private static partial void LogPutOff(ILogger logger, string deliveryId, string webhookId, int attempt, string reason, DateTime at);

    // An Error with the exception: a fault of this server's, which the delivery log only names.
    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} to {WebhookId}, attempt {Attempt}: the server failed in making it")]
    private static partial void LogFaulted(ILogger logger, Exception exception, string deliveryId, string webhookId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {WebhookId} disabled: its receiver answered 410 Gone")]
    private static partial void LogDisabled(ILogger logger, string webhookId);
}
