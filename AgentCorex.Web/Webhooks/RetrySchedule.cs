namespace AgentCorex.Web.Webhooks;

/// <summary>
/// When a failed attempt is tried again: Webhooks:RetryBaseDelay, then 4 times longer each time, capped at
/// Webhooks:MaxRetryDelay, plus up to 10% of jitter so that the retries of many deliveries spread out.
/// With the defaults (5 s, 8 h, 10 attempts): 5 s, 20 s, 80 s, 5 min, 21 min, 1.4 h, 5.7 h, 8 h, 8 h, about 24 h in all.
/// A receiver's Retry-After (on 429 and 503) is honoured when it asks for longer, up to <see cref="MaxRetryAfter"/>.
/// </summary>
public static class RetrySchedule
{
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    public static TimeSpan NominalDelay(int failedAttempt, WebhooksOptions options)
    {
        var factor = Math.Pow(4, Math.Max(0, failedAttempt - 1));
        var delay = options.RetryBaseDelay.TotalMilliseconds * factor;
        return TimeSpan.FromMilliseconds(Math.Min(delay, options.MaxRetryDelay.TotalMilliseconds));
    }

    public static TimeSpan Delay(int failedAttempt, WebhooksOptions options, TimeSpan? retryAfter = null)
    {
        var backoff = NominalDelay(failedAttempt, options) * (1 + Random.Shared.NextDouble() / 10);
        var asked = retryAfter is { } wait ? (wait < MaxRetryAfter ? wait : MaxRetryAfter) : TimeSpan.Zero;
        return asked > backoff ? asked : backoff;
    }
}
