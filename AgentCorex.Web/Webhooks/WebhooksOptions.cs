using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Webhooks;

public sealed class WebhooksOptions
{
    public const string Section = "Webhooks";

    /// <summary>Tries per delivery, the first included; with the default retry delays, 10 span about a day.</summary>
    [Range(1, 30)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The wait before the first retry; each next one is 4 times longer, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(8);

    /// <summary>How long one attempt may take, connecting and receiving the response's headers.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Hangfire workers on this node that deliver webhooks, apart from the tool workers; 0 delivers none here.
    /// Slow receivers together take half of them at most (<see cref="ReceiverGate"/>).
    /// </summary>
    [Range(0, 100)]
    public int WorkerCount { get; set; } = 10;

    /// <summary>Webhooks one API key may have.</summary>
    [Range(1, 1000)]
    public int MaxPerKey { get; set; } = 20;

    /// <summary>
    /// How long a node trusts what it read of a key's subscriptions. A change on this node takes effect at
    /// once; on other nodes sharing the database, within this time.
    /// </summary>
    public TimeSpan SubscriptionCacheTtl { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often this node looks for deliveries to repair and for old ones to delete.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How far past due a pending delivery with no attempt in flight must be before it is enqueued again: its
    /// Hangfire job was lost (a crash between storing and enqueueing it) or is late behind a backlog.
    /// </summary>
    public TimeSpan RepairGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long ended deliveries (delivered or failed) and their attempts stay in the log.</summary>
    public TimeSpan DeliveryRetention { get; set; } = TimeSpan.FromDays(7);
}
