using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Jobs;

public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Hangfire workers on this node; unset takes Hangfire's default (5 per core, at most 20). 0 makes an API-only node.</summary>
    [Range(0, 1000)]
    public int? WorkerCount { get; set; }

    /// <summary>
    /// The floor of the .NET thread pool's worker threads, raised to at start (never lowered; 0, the default, leaves
    /// the runtime's one per core). Hangfire's client is synchronous: a submit holds its pool thread while Hangfire
    /// stores the job, and under a burst the pool adds threads only a few a second. More threads cost other requests
    /// their latency tail. Measured on 2 cores (docs/benchmarks.md): once tools that never block ran on the caller's
    /// thread, 16 gave no more jobs/s than 0 (1,515-1,537 against 1,492-1,516 on the embedded database; on PostgreSQL
    /// no difference beyond the rounds' noise), while GET /jobs/{id}'s p99 at 32 connections was 14.3 ms with 16 and
    /// 5.6 ms with 0. A node that takes bursts of submits from many more connections than it has cores may set more.
    /// </summary>
    [Range(0, 4096)]
    public int MinThreadPoolThreads { get; set; }

    [Range(1, int.MaxValue)]
    public int DefaultTimeoutMs { get; set; } = 30_000;

    /// <summary>The largest timeout_ms a job may ask for (a day by default).</summary>
    [Range(1, int.MaxValue)]
    public int MaxTimeoutMs { get; set; } = 86_400_000;

    /// <summary>
    /// The most jobs one key may have queued (parked or handed to Hangfire, not yet running); a submit past it is refused
    /// 429, storing nothing. Every key is bounded, admin keys and keys with no limits too: a client looping on submits
    /// while the workers are busy would otherwise fill the database. 0: no bound.
    /// </summary>
    public int MaxQueuedPerKey { get; set; } = 100_000;

    /// <summary>How often a node checks whether a job it runs was canceled elsewhere (a forced cancel sent to another node).</summary>
    public TimeSpan CancellationCheckInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// On a shared database: how long a job fetched by a node that stopped heart-beating (killed, cut off) stays
    /// hidden before another node takes it over. A live node keeps its jobs hidden however long they run.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How often each Hangfire server of a node writes that it lives (hangfire.server's last heartbeat). It is
    /// written from a thread of its own, whatever the workers are doing.
    /// </summary>
    public TimeSpan ServerHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long a Hangfire server may go without a heartbeat before the other nodes remove it from the dashboard's
    /// Servers. A server that could not write its heartbeat for this long, or finds itself removed (the database
    /// was away), restarts in place, which cuts off the jobs it runs; so this is also the database outage running
    /// jobs ride through. Hangfire's own default. Which jobs another node takes over, and when, is
    /// Jobs:InvisibilityTimeout's, not this.
    /// </summary>
    public TimeSpan ServerTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often each node looks for servers past Jobs:ServerTimeout, and removes them.</summary>
    public TimeSpan ServerCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// On PostgreSQL: how often each idle worker looks for jobs enqueued by another node. With 10 workers polling
    /// out of step, another node's job waits about a tenth of it for the next look.
    /// </summary>
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// On PostgreSQL: idle workers LISTEN for a NOTIFY sent with every enqueue, so another node's job wakes them
    /// at once. Off (the default), a worker learns of another node's job at its next poll (Jobs:QueuePollInterval);
    /// jobs enqueued by this node still wake its own workers at once. Off by default because Hangfire.PostgreSql
    /// 1.21.1 on Npgsql 10 can leave a worker blocked for good after it fetched a job: its Dequeue waits for its
    /// LISTEN task, which does not end (seen in the benchmark, 2 of about 30,000 jobs; docs/benchmarks.md), and the
    /// sliding heartbeat then keeps that job hidden from every other worker.
    /// </summary>
    public bool LongPolling { get; set; }

    /// <summary>How often the ledger is compared with Hangfire, to repair jobs a crash left running.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a job must have been running before the repair pass looks at it.</summary>
    public TimeSpan ReconcileGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a job may wait queued (not parked) with no live Hangfire job known to carry it before the repair
    /// pass hands it to Hangfire again: a process that died between storing a job and enqueueing it leaves such
    /// a job. Only as many are enqueued again as Hangfire cannot account for (see JobRecovery).
    /// </summary>
    public TimeSpan QueuedRepairGrace { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long the ledger keeps a job after it ends (completed, failed, canceled, timeout); unset, the default, keeps
    /// every job, for the SQL reports. Set, a sweep deletes the older ones (<see cref="JobRetention"/>). At least a day,
    /// Hangfire's own keeping of a finished job.
    /// </summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>
    /// The embedded default: how long Hangfire.InMemory keeps a job after it ends, for the dashboard's pages (the ledger
    /// keeps the job, and answers the API, whatever this is). Each such job holds memory until then: about 1.2 KB.
    /// </summary>
    public TimeSpan InMemoryJobExpiration { get; set; } = TimeSpan.FromHours(3);

    /// <summary>
    /// The embedded default: how many finished jobs Hangfire.InMemory keeps at most, the latest to end; an older one
    /// goes before its Jobs:InMemoryJobExpiration when more have ended since. Bounds the heap they hold at a sustained load.
    /// </summary>
    public int InMemoryMaxFinishedJobs { get; set; } = 100_000;

    /// <summary>The least time between two stored progress reports of one job: a chatty tool cannot flood the storage.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The most runs a job gets. A run cut off by its server's stop or death is run again when its tool is safe to retry,
    /// but not past this many: cut off in its last, the job ends failed SERVER_RESTARTED. Bounds a job that never gets
    /// to its end between restarts, or that takes its server down with it (each start of the server would run it, and
    /// crash, again). 10, as Hangfire's AutomaticRetry counts by default (which is off for tool jobs: a tool's failure
    /// is its job's end).
    /// </summary>
    [Range(1, 1000)]
    public int MaxAttempts { get; set; } = 10;

    /// <summary>
    /// On SIGTERM: how long running tools may go on to finish. A job still running then is cut off and left as the
    /// restart rules say (queued again if its tool is safe to retry and it has runs left, else failed SERVER_RESTARTED).
    /// </summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
