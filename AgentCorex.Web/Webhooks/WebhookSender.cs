using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Web.Network;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

/// <summary>One signed POST of a delivery to its webhook, within Webhooks:AttemptTimeout.</summary>
public sealed class WebhookSender(IHttpClientFactory http, WebhookSecrets secrets, IOptions<WebhooksOptions> options, TimeProvider time)
{
    public const string HttpClientName = "webhooks";

    /// <summary>Why nothing was sent, as the delivery log and the server's log say it: what the owner and the operator can do.</summary>
    public const string UnreadableSecret =
        "the webhook's secret cannot be read (the server's Data Protection key for it is gone from the key ring, or the stored secret is damaged); register the webhook again";

    /// <summary>
    /// Who sends: firewalls in front of receivers (AWS WAF's common rule set, Cloudflare's browser check) refuse a
    /// request with no User-Agent, which would fail the delivery at once with a 403.
    /// </summary>
    public static readonly ProductInfoHeaderValue UserAgent = new("AgentCorex-Webhooks", null);

    public async Task<Sent> SendAsync(Webhook webhook, WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        if (!secrets.TryUnprotect(webhook.ProtectedSecret, out var secret))
        {
            return Sent.NotSent(UnreadableSecret);
        }
        var body = Encoding.UTF8.GetBytes(delivery.Payload);
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.UserAgent.Add(UserAgent);
        request.Headers.Add(WebhookSignatures.IdHeader, delivery.Id);
        request.Headers.Add(WebhookSignatures.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignatures.SignatureHeader, WebhookSignatures.StandardWebhooks(secret, delivery.Id, timestamp, body));
        request.Headers.Add(WebhookSignatures.AgentCorexHeader, WebhookSignatures.AgentCorex(secret, body));

        var client = http.CreateClient(HttpClientName);
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(options.Value.AttemptTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            // Only the status matters: the body is never read, so a receiver cannot hold the worker with it.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var code = (int)response.StatusCode;
            return new Sent(code, time.GetElapsedTime(started), code is >= 200 and < 300 ? null : $"HTTP {code}",
                Retryable: code is 429 or >= 500, RetryAfter: code is 429 or 503 ? RetryAfter(response.Headers.RetryAfter) : null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Unanswered(started, $"no response within {options.Value.AttemptTimeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e) when (e.InnerException is ForbiddenTargetException refused)
        {
            return new Sent(null, time.GetElapsedTime(started), refused.Message, Retryable: false);
        }
        catch (HttpRequestException e) when (e.InnerException is UnresolvedTargetException unresolved)
        {
            // HttpClient's own message would repeat the resolver's twice, with the host and port in between.
            return Unanswered(started, $"{HttpRequestError.NameResolutionError}: {unresolved.Message}");
        }
        catch (HttpRequestException e)
        {
            // A TLS failure says "see inner exception", which the delivery log's reader cannot: the inner one says why.
            var why = e.InnerException is { Message: { Length: > 0 } inner } && inner != e.Message ? $"{e.Message} ({inner})" : e.Message;
            return Unanswered(started, $"{e.HttpRequestError}: {why}");
        }
    }

    private Sent Unanswered(long started, string error) => new(null, time.GetElapsedTime(started), error, Retryable: true, Unanswered: true);

    /// <summary>How long the receiver asked to wait, in seconds or until a date; null when it did not say.</summary>
    private TimeSpan? RetryAfter(RetryConditionHeaderValue? header) =>
        header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);
}

/// <summary>What came of an attempt: the status code, or the error when no answer came or nothing was sent.</summary>
/// <param name="Unanswered">A timeout or a connection error: the receiver may be down.</param>
/// <param name="RetryAfter">The Retry-After of a 429 or 503 answer.</param>
/// <param name="Made">False when no request was made: the receiver's health is not judged by it.</param>
public sealed record Sent(int? StatusCode, TimeSpan Duration, string? Error, bool Retryable, bool Unanswered = false, TimeSpan? RetryAfter = null, bool Made = true)
{
    public bool Delivered => StatusCode is >= 200 and < 300;

    /// <summary>An attempt not made, and final: an attempt that can wait is put off instead, not recorded.</summary>
    public static Sent NotSent(string why) => new(null, TimeSpan.Zero, "not sent: " + why, Retryable: false, Made: false);

    /// <summary>
    /// An attempt this server failed to make, for a reason of its own that may pass (a fault reading what it
    /// needs, a bug): spent and retried on the schedule, as an unanswered one is. Its exception goes to the
    /// server's log only: its message is not the owner's to read.
    /// </summary>
    public static Sent Faulted(Exception fault) =>
        new(null, TimeSpan.Zero, $"the server failed in making the attempt ({fault.GetType().Name}; its log says why)", Retryable: true, Made: false);
}
