using System.Diagnostics.Metrics;

namespace AgentCorex.Web.Monitoring;

/// <summary>
/// The server's own meters, exported at /metrics. Every tag has a bounded set of values: tools come from the
/// catalog, statuses, outcomes, schemes and reasons are fixed words, plans are the contract's. Counts are this process's: Prometheus
/// sums the nodes.
/// </summary>
public sealed class AgentCorexMetrics
{
    public const string MeterName = "AgentCorex";

    // Seconds, from a direct execution's few milliseconds to a job of an hour (a longer one lands in +Inf).
    private static readonly IReadOnlyList<double> DurationBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

    private readonly Counter<long> submitted;
    private readonly Counter<long> started;
    private readonly Counter<long> finished;
    private readonly Histogram<double> executionTime;
    private readonly Histogram<double> queueWait;
    private readonly Counter<long> webhookDeliveries;
    private readonly Counter<long> rateLimitRefusals;
    private readonly Counter<long> authenticationFailures;

    public AgentCorexMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets };
        submitted = meter.CreateCounter<long>("agentcorex.jobs.submitted", "{job}", "Jobs accepted, by tool");
        started = meter.CreateCounter<long>("agentcorex.jobs.started", "{job}", "Job runs started, by tool (a job re-run after a restart counts again)");
        finished = meter.CreateCounter<long>("agentcorex.jobs.finished", "{job}", "Jobs that reached a final status, by tool and status");
        executionTime = meter.CreateHistogram("agentcorex.tool.execution.duration", "s",
            "How long tool runs took, jobs and direct executions, by tool and outcome (success, failed, timeout)", advice: seconds);
        queueWait = meter.CreateHistogram("agentcorex.jobs.queue_wait.duration", "s",
            "From a job's submission to the start of its run, by tool", advice: seconds);
        webhookDeliveries = meter.CreateCounter<long>("agentcorex.webhooks.deliveries", "{attempt}",
            "Webhook delivery attempts by outcome: delivered, retrying (another attempt is scheduled) or failed (given up)");
        rateLimitRefusals = meter.CreateCounter<long>("agentcorex.rate_limit.refusals", "{request}",
            "Requests refused with 429, by limit (execution or api per minute, concurrent executions, queued jobs) and the key's plan (admin for admin keys)");
        authenticationFailures = meter.CreateCounter<long>("agentcorex.auth.failures", "{request}",
            "Presented credentials refused with 401, by scheme (bearer, basic, form, access_token) and reason (malformed, no_such_key, " +
            "wrong_secret, revoked, not_admin); a request without credentials is not counted");
    }

    public void JobSubmitted(string tool) => submitted.Add(1, Tag("tool", tool));

    public void JobStarted(string tool, TimeSpan waited)
    {
        started.Add(1, Tag("tool", tool));
        queueWait.Record(Math.Max(0, waited.TotalSeconds), Tag("tool", tool));
    }

    public void JobFinished(string tool, string status) => finished.Add(1, Tag("tool", tool), Tag("status", status));

    public void ToolRan(string tool, string outcome, long executionTimeMs) =>
        executionTime.Record(executionTimeMs / 1000.0, Tag("tool", tool), Tag("outcome", outcome));

    public void WebhookAttempted(string outcome) => webhookDeliveries.Add(1, Tag("outcome", outcome));

    public void RateLimitRefused(string limit, string plan) => rateLimitRefusals.Add(1, Tag("limit", limit), Tag("plan", plan));

    public void AuthenticationFailed(string scheme, string reason) => authenticationFailures.Add(1, Tag("scheme", scheme), Tag("reason", reason));

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);
}
