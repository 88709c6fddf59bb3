using System.ComponentModel;
using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Network;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// The Hangfire job that makes one attempt of one delivery, on the "webhooks" queue that only the webhook workers
/// serve, so a slow or dead receiver never holds a tool worker. It schedules the next attempt itself (Hangfire's
/// automatic retry is off for every job): after a timeout, a connection error, 429 or 5xx, until
/// Webhooks:MaxAttempts. Any other answer is final: 2xx delivered, 3xx (redirects are not followed) and 4xx failed.
/// </summary>
public sealed partial class WebhookDispatcher(
    AgentCorexDb db,
    WriteGate writes,
    IHttpClientFactory http,
    WebhookSecrets secrets,
    IBackgroundJobClient hangfire,
    AgentCorexMetrics metrics,
    IOptions<WebhooksOptions> options,
    TimeProvider time,
    ILogger<WebhookDispatcher> logger)
{
    public const string Queue = "webhooks";
    public const string HttpClientName = "webhooks";

    public static string Enqueue(IBackgroundJobClient hangfire, string deliveryId) =>
        hangfire.Enqueue<WebhookDispatcher>(d => d.DeliverAsync(deliveryId, 1, CancellationToken.None));

    public static string Schedule(IBackgroundJobClient hangfire, string deliveryId, int attempt, TimeSpan delay) =>
        hangfire.Schedule<WebhookDispatcher>(d => d.DeliverAsync(deliveryId, attempt, CancellationToken.None), delay);

    [Queue(Queue)]
    [DisplayName("webhook delivery {0}, attempt {1}")]
    public async Task DeliverAsync(string deliveryId, int attempt, CancellationToken cancellationToken)
    {
        var delivery = await db.WebhookDeliveries.AsNoTracking().SingleOrDefaultAsync(d => d.Id == deliveryId, cancellationToken);
        if (delivery is null || delivery.Status != DeliveryStatus.Pending || delivery.Attempts >= attempt)
        {
            return; // its webhook was deleted, it has ended, or this attempt was already made
        }
        var webhook = await db.Webhooks.AsNoTracking().SingleOrDefaultAsync(w => w.Id == delivery.WebhookId, cancellationToken);
        if (webhook is null)
        {
            return;
        }
        using var scope = JobLogScope.Begin(logger, delivery.JobId, WebhookPayload.ToolOf(delivery.Payload), webhook.OwnerKeyId);

        var attemptedAt = time.GetUtcNow();
        var sent = await SendAsync(webhook, delivery, cancellationToken);
        var retry = sent.Retryable && attempt < options.Value.MaxAttempts;
        var status = sent.StatusCode is >= 200 and < 300 ? DeliveryStatus.Delivered : retry ? DeliveryStatus.Pending : DeliveryStatus.Failed;
        var delay = RetrySchedule.Delay(attempt, options.Value);
        DateTime? next = retry ? (attemptedAt + delay).UtcDateTime : null;

        using (await writes.EnterAsync(CancellationToken.None))
        {
            // The log row and the new state together; one conditional UPDATE decides, should Hangfire run this
            // attempt twice, which run records it and goes on.
            await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
            var won = await db.WebhookDeliveries
                .Where(d => d.Id == deliveryId && d.Status == DeliveryStatus.Pending && d.Attempts < attempt)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(d => d.Attempts, attempt)
                    .SetProperty(d => d.Status, status)
                    .SetProperty(d => d.NextAttemptAt, next), CancellationToken.None) == 1;
            if (!won)
            {
                return;
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
        LogAttempt(logger, deliveryId, webhook.Id, attempt, sent.StatusCode, sent.Error ?? "", status);
        if (retry)
        {
            Schedule(hangfire, deliveryId, attempt + 1, delay);
        }
    }

    private async Task<Sent> SendAsync(Webhook webhook, WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        var key = secrets.UnprotectKey(webhook.ProtectedSecret);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignatures.IdHeader, delivery.Id);
        request.Headers.Add(WebhookSignatures.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignatures.SignatureHeader, WebhookSignatures.StandardWebhooks(key, delivery.Id, timestamp, body));
        request.Headers.Add(WebhookSignatures.AgentCorexHeader, WebhookSignatures.AgentCorex(key, body));

        var client = http.CreateClient(HttpClientName);
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.Value.AttemptTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // Only the status matters: the body is never read, so a receiver cannot hold the worker with it.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var code = (int)response.StatusCode;
            var retryable = code is 429 or >= 500;
            return new Sent(code, time.GetElapsedTime(started), code is >= 200 and < 300 ? null : $"HTTP {code}", retryable);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Sent(null, time.GetElapsedTime(started), $"no response within {options.Value.AttemptTimeout.TotalMilliseconds:0} ms", Retryable: true);
        }
        catch (HttpRequestException e) when (e.InnerException is ForbiddenTargetException refused)
        {
            return new Sent(null, time.GetElapsedTime(started), refused.Message, Retryable: false);
        }
        catch (HttpRequestException e)
        {
            return new Sent(null, time.GetElapsedTime(started), $"{e.HttpRequestError}: {e.Message}", Retryable: true);
        }
    }

    private sealed record Sent(int? StatusCode, TimeSpan Duration, string? Error, bool Retryable);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} to {WebhookId}, attempt {Attempt}: status {StatusCode} {Error}, now {Status}")]
    private static partial void LogAttempt(ILogger logger, string deliveryId, string webhookId, int attempt, int? statusCode, string error, string status);
}
