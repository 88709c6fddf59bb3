namespace AgentCorex.Web.Webhooks;

/// <summary>
/// When a failed attempt is tried again: Webhooks:RetryBaseDelay, then 4 times longer each time, capped at
/// Webhooks:MaxRetryDelay, plus up to 10% of jitter so that the retries of many deliveries spread out.
/// With the defaults (5 s, 8 h, 10 attempts): 5 s, 20 s, 80 s, 5 min, 21 min, 1.4 h, 5.7 h, 8 h, 8 h, about 24 h in all.
/// A receiver's Retry-After (on 429 and 503) is honoured when it asks for longer, up to <see cref="MaxRetryAfter"/>.
/// A delivery has <see cref="Span"/> from its creation to be made: no retry comes due after that, but one its
/// receiver's Retry-After asked for.
/// </summary>
public static class RetrySchedule
{
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromHours(1);

    /// <summary>How late the webhook server's scheduler may start a retry: it looks for due ones every second.</summary>
    public static readonly TimeSpan SchedulePollingInterval = TimeSpan.FromSeconds(1);

    private const double Jitter = 0.1;

    public static TimeSpan NominalDelay(int failedAttempt, WebhooksOptions options)
    {
        var factor = Math.Pow(4, Math.Max(0, failedAttempt - 1));
        var delay = options.RetryBaseDelay.TotalMilliseconds * factor;
        return TimeSpan.FromMilliseconds(Math.Min(delay, options.MaxRetryDelay.TotalMilliseconds));
    }

    public static TimeSpan Delay(int failedAttempt, WebhooksOptions options, TimeSpan? retryAfter = null)
    {
        var backoff = NominalDelay(failedAttempt, options) * (1 + Random.Shared.NextDouble() * Jitter);
        var asked = Asked(retryAfter);
        return asked > backoff ? asked : backoff;
    }

    /// <summary>
    /// The longest the schedule takes: its waits with their most jitter, and for each attempt its timeout and the
    /// scheduler's lateness (about 26 h with the defaults).
    /// </summary>
    public static TimeSpan Span(WebhooksOptions options) =>
        Enumerable.Range(1, options.MaxAttempts - 1).Aggregate(TimeSpan.Zero, (sum, n) => sum + NominalDelay(n, options) * (1 + Jitter))
        + options.MaxAttempts * (options.AttemptTimeout + SchedulePollingInterval);

    /// <summary>When a failed attempt is tried again: after its delay, but not after <paramref name="end"/> unless the receiver asked to wait that long.</summary>
    public static DateTimeOffset NextAttempt(DateTimeOffset now, int failedAttempt, TimeSpan? retryAfter, DateTimeOffset end, WebhooksOptions options)
    {
        var due = now + Delay(failedAttempt, options, retryAfter);
        var latest = end > now + Asked(retryAfter) ? end : now + Asked(retryAfter);
        return due < latest ? due : latest;
    }

    /// <summary>
    /// When a delivery that came due while its receiver could not take it comes back, none of its attempts spent:
    /// once the receiver is free (<paramref name="free"/>: its circuit closes, or the attempts in flight to it have had
    /// time to end), and not before it has waited as long again as the shorter of its own age and its receiver's
    /// trouble (silent, slow or busy; <paramref name="waitingSince"/>, the later of the two starts). A delivery held up
    /// by a moment's trouble is tried as soon as the receiver is free; a dead or slow receiver's backlog comes back in
    /// ever sparser waves, each wait at least double the one before, so a delivery is put off 15 to 20 times in a
    /// day at most. With jitter, up to Webhooks:MaxRetryDelay, and never after <paramref name="end"/>.
    /// </summary>
    public static DateTimeOffset PutOff(DateTimeOffset now, DateTimeOffset free, DateTimeOffset waitingSince, DateTimeOffset end, WebhooksOptions options)
    {
        var waited = now - waitingSince;
        var wait = free - now > waited ? free - now : waited;
        wait *= 1 + Random.Shared.NextDouble() * Jitter;
        var at = now + (wait < options.MaxRetryDelay ? wait : options.MaxRetryDelay);
        return at < end ? at : end;
    }

    private static TimeSpan Asked(TimeSpan? retryAfter) =>
        retryAfter is { } wait ? (wait < MaxRetryAfter ? (wait > TimeSpan.Zero ? wait : TimeSpan.Zero) : MaxRetryAfter) : TimeSpan.Zero;
}
