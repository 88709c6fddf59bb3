using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Jobs;

public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Hangfire workers on this node; unset takes Hangfire's default (5 per core, at most 20). 0 makes an API-only node.</summary>
    [Range(0, 1000)]
    public int? WorkerCount { get; set; }

    [Range(1, int.MaxValue)]
    public int DefaultTimeoutMs { get; set; } = 30_000;

    /// <summary>The largest timeout_ms a job may ask for (a day by default).</summary>
    [Range(1, int.MaxValue)]
    public int MaxTimeoutMs { get; set; } = 86_400_000;

    /// <summary>How often a node checks whether a job it runs was canceled elsewhere (a forced cancel sent to another node).</summary>
    public TimeSpan CancellationCheckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// On a shared database: how long a job fetched by a node that stopped heart-beating (killed, cut off) stays
    /// hidden before another node takes it over. A live node keeps its jobs hidden however long they run.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>On PostgreSQL: how often idle workers look for jobs when no notification woke them (a safety net).</summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On PostgreSQL: idle workers LISTEN for a NOTIFY sent with every enqueue, so another node's job wakes them
    /// at once. Off, a worker learns of another node's job only at its next poll (Jobs:QueuePollInterval);
    /// jobs enqueued by this node still wake its own workers at once.
    /// </summary>
    public bool LongPolling { get; set; } = true;

    /// <summary>How often the ledger is compared with Hangfire, to repair jobs a crash left running.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a job must have been running before the repair pass looks at it.</summary>
    public TimeSpan ReconcileGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The least time between two stored progress reports of one job: a chatty tool cannot flood the storage.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}
