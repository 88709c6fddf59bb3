using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// A key's limit of tool executions at once (its max_concurrent), jobs and direct executions together, on
/// every node. A slot is held by a direct execution while it runs, and by a job from the moment it is handed
/// to Hangfire until it ends. A job that finds no free slot, or its key's parked jobs before it, is parked: stored as
/// queued but not handed to Hangfire, so it holds no worker and never stands in another key's way; when one of its
/// key's slots frees, the key's oldest parked job is handed over. Counting and taking happen under <see cref="KeySlotLock"/>,
/// from the ledger itself: on a server database by counting its rows; on the embedded one from a count that
/// triggers keep in the same transactions as the rows (<see cref="SqliteSlotQueries"/>), so no crash can leave
/// either wrong.
/// </summary>
public sealed partial class ExecutionSlots(
    IServiceProvider services,
    KeySlotLock locks,
    IDirectExecutions directs,
    ISlotQueries queries,
    KeyLimits limits,
    ApiKeyAuthenticator keys,
    IBackgroundJobClient hangfire,
    FailedHandOvers failedHandOvers,
    AgentCorexMetrics metrics,
    IOptions<RateLimitOptions> options,
    IOptions<JobsOptions> jobs,
    TimeProvider time,
    ILogger<ExecutionSlots> logger)
{
    /// <summary>The limit a refused direct execution ran into, as /metrics names it beside the per-minute ones.</summary>
    public const string ConcurrentLimit = "concurrent";

    /// <summary>The bound a refused submit ran into (Jobs:MaxQueuedPerKey), as /metrics names it.</summary>
    public const string QueuedLimit = "queued";

    /// <summary>How long past its deadline a direct execution's slot is counted should its node die without releasing it.</summary>
    private static readonly TimeSpan DirectGrace = TimeSpan.FromMinutes(1);

    /// <summary>The most parked jobs handed over under one hold of the key's lock, when a limit was raised or lifted.</summary>
    private const int PromoteBatch = 100;

    // Taken from the scope when first needed: on the embedded default a direct execution needs neither (a
    // leased context cost it more than all the rest of its bookkeeping).
    private AgentCorexDb? db;
    private JobLedger? ledger;
    private Func<AgentCorexDb>? context;

    private AgentCorexDb Db => db ??= services.GetRequiredService<AgentCorexDb>();

    private JobLedger Ledger => ledger ??= services.GetRequiredService<JobLedger>();

    /// <summary>The context on demand, for what may not need it.</summary>
    private Func<AgentCorexDb> Context => context ??= () => Db;

    /// <summary>
    /// Stores a new job, holding a slot of its key when one is free and none of its key's jobs is parked (those were
    /// there first: a slot freed as it comes goes to the oldest of them). True: the caller hands it to Hangfire.
    /// False: it was parked, and is handed over when a slot frees. Null, with nothing stored, when its key has
    /// Jobs:MaxQueuedPerKey jobs queued already, whatever its limits (the ledger's insert checks it, <see cref="JobLedger.AddAsync"/>):
    /// the caller refuses it with <see cref="QueueFull"/>, unless it finds the job a submit with its Idempotency-Key made.
    /// </summary>
    public async Task<bool?> AdmitAsync(JobEntry job, ApiKeyIdentity owner, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled || limits.MaxConcurrent(owner) is not { } limit)
        {
            if (!await Ledger.AddAsync(job, cancellationToken))
            {
                return null;
            }
            // Where a key's count is remembered as a bound (SqliteSlotQueries), a job stored without a limit is not in
            // it: the bound is forgotten, so that a limit set again (PATCH) counts the key's jobs afresh. Not under the
            // key's lock, which every submit of an unlimited key would then queue on: a limited admission that read the
            // bound just before is the same overshoot as a request authenticated before the PATCH.
            queries.Unbounded(job.OwnerKeyId);
            return true;
        }
        bool parked;
        if (locks.OneStatementAdmission)
        {
            if (await Ledger.AddWithinLimitAsync(job, limit, cancellationToken) is not { } parkedAtAdmission)
            {
                return null;
            }
            parked = job.Parked = parkedAtAdmission;
        }
        else
        {
            Task<bool>? storing = null;
            parked = await locks.RunAsync(Context, job.OwnerKeyId, async token =>
            {
                job.Parked = await ParksAsync(job.OwnerKeyId, limit, token);
                queries.Stored(job.OwnerKeyId, job.Parked);
                storing = Ledger.AddAsync(job, token);
                if (job.Parked || !queries.Remembers)
                {
                    await storing;
                }
                // Else, on the embedded database, the insert is queued at the writer and the key's next count is
                // asked of the writer after it (SqliteSlotQueries): the lock is let go without waiting for the commit.
                return job.Parked;
            }, cancellationToken);
            if (!await storing!)
            {
                // What was told of it (Stored) only overstates the key's bound, which is then asked again.
                return null;
            }
        }
        if (parked)
        {
            // A slot that freed while this job was being parked found nothing to hand over, or this job was parked
            // behind older ones with a slot free; hand it over now, to the oldest. The owner was just authenticated,
            // so its limit is not read again (and a key revoked meanwhile has its queued jobs refused at their start,
            // or canceled by the sweep). The job is stored: a client gone now does not leave the hand-over to the sweep,
            // nor is the submit answered 503 when the database is gone for it.
            await HandOverOrLeaveAsync(job.OwnerKeyId, () => HandOverAsync(job.OwnerKeyId, limit, CancellationToken.None));
        }
        return !parked;
    }

    /// <summary>The refusal of a submit at Jobs:MaxQueuedPerKey, counted as the key's plan's <see cref="QueuedLimit"/> refusal.</summary>
    public ApiException QueueFull(ApiKeyIdentity owner)
    {
        metrics.RateLimitRefused(QueuedLimit, owner.IsAdmin ? "admin" : owner.Plan);
        return RateLimitErrors.QueuedJobsExceeded(jobs.Value.MaxQueuedPerKey);
    }

    /// <summary>A slot for a direct execution, or 429 RATE_LIMIT_EXCEEDED; null when the key has no limit.</summary>
    public async Task<DirectSlot?> TakeDirectAsync(ApiKeyIdentity caller, string executionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled || limits.MaxConcurrent(caller) is not { } limit)
        {
            return null;
        }
        var execution = new DirectExecution { Id = executionId, KeyId = caller.KeyId, ExpiresAt = time.GetUtcNow().UtcDateTime + timeout + DirectGrace };
        var taken = locks.OneStatementAdmission
            ? await directs.TryAddWithinLimitAsync(execution, limit, cancellationToken)
            : await locks.RunAsync(Context, caller.KeyId, async token =>
            {
                if (await AtLimitAsync(caller.KeyId, limit, token))
                {
                    return false;
                }
                await directs.AddAsync(Context, execution, token);
                return true;
            }, cancellationToken);
        if (!taken)
        {
            metrics.RateLimitRefused(ConcurrentLimit, caller.IsAdmin ? "admin" : caller.Plan);
            throw RateLimitErrors.ConcurrencyExceeded(limit);
        }
        return new DirectSlot(this, execution);
    }

    /// <summary>
    /// Gives a direct execution's slot back once its tool has answered. That answer stands: a database unavailable
    /// for this leaves the row to expire (its deadline and <see cref="DirectGrace"/>) and the key's parked jobs to the
    /// next sweep, rather than replacing it with a 503 that invites the client to run the tool again.
    /// </summary>
    internal async Task ReleaseDirectAsync(DirectExecution execution)
    {
        bool? anyParked;
        try
        {
            anyParked = await directs.RemoveAsync(Context, execution, CancellationToken.None);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            LogDirectSlotLeft(logger, execution.KeyId, execution.ExpiresAt, e.GetBaseException().Message);
            return;
        }
        switch (anyParked)
        {
            case true:
                await HandOverOrLeaveAsync(execution.KeyId, () => PromoteAsync(execution.KeyId, CancellationToken.None));
                break;
            case null:
                await OnSlotFreedAsync(execution.KeyId, CancellationToken.None);
                break;
        }
    }

    /// <summary>
    /// After one of a key's jobs or executions ended (its final state already stored): hands the key's oldest
    /// parked job to Hangfire. A job parked after the check looked sees this slot free as it is parked (see
    /// <see cref="AdmitAsync"/>), so on a server database the check takes no lock. What ended stays as stored
    /// when the database cannot be reached for this: the key's parked jobs are then handed over by the next
    /// sweep (<see cref="ParkedJobsSweeper"/>), and the run, cancel or revocation that freed the slot is not
    /// failed, nor answered 503, for a step that comes after it.
    /// </summary>
    public async Task OnSlotFreedAsync(string keyId, CancellationToken cancellationToken)
    {
        if (queries.SurelyNoneParked(keyId))
        {
            return;
        }
        await HandOverOrLeaveAsync(keyId, async () =>
        {
            // Where answers are remembered, asked under the key's lock, so that what is remembered agrees with a job parked meanwhile.
            var anyParked = queries.Remembers
                ? await locks.RunAsync(Context, keyId, token => queries.HasParkedAsync(Context, keyId, token), cancellationToken)
                : await queries.HasParkedAsync(Context, keyId, cancellationToken);
            if (anyParked)
            {
                await PromoteAsync(keyId, cancellationToken);
            }
        });
    }

    /// <summary>
    /// Runs a hand-over that comes after a stored change (a job or execution that ended, a job parked). A database
    /// unavailable for it leaves the key's parked jobs to the next sweep (<see cref="ParkedJobsSweeper"/>): the change
    /// stands, and what made it is neither failed nor answered 503 for this step.
    /// </summary>
    private async Task HandOverOrLeaveAsync(string keyId, Func<Task> handOver)
    {
        try
        {
            await handOver();
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            LogPromotionLeft(logger, keyId, e.GetBaseException().Message);
        }
    }

    /// <summary>Hands as many of the key's parked jobs to Hangfire as it has free slots, oldest first.</summary>
    public async Task PromoteAsync(string keyId, CancellationToken cancellationToken)
    {
        var key = await OwnerAsync(keyId, cancellationToken);
        if (key is null)
        {
            return; // revoked: its queued jobs do not start (see the revocation)
        }
        await HandOverAsync(keyId, options.Value.Enabled ? limits.MaxConcurrent(key) : null, cancellationToken);
    }

    /// <summary>
    /// As <see cref="PromoteAsync"/>, for a key whose limit is known (null: none). A batch at a time under the key's
    /// lock, the next one at once, so that a limit raised or lifted over thousands of parked jobs hands them all over
    /// without holding the key's admissions for all of them.
    /// </summary>
    private async Task HandOverAsync(string keyId, int? limit, CancellationToken cancellationToken)
    {
        bool more;
        do
        {
            (var promoted, more) = await locks.RunAsync(Context, keyId, token => UnparkBatchAsync(keyId, limit, token), cancellationToken);
            foreach (var job in promoted)
            {
                try
                {
                    JobSubmitter.Enqueue(hangfire, job);
                }
                catch (BackgroundJobClientException e)
                {
                    // No longer parked, so no sweep of parked jobs would see it: it would hold its key's slot, unrun,
                    // until the repair pass's Jobs:QueuedRepairGrace. Nor is it the caller's failure (a job that ended,
                    // a submit whose own job is stored).
                    failedHandOvers.Add(job);
                    LogHandOverFailed(logger, e, job.Id);
                }
            }
        }
        while (more);
    }

    /// <summary>Under the key's lock: up to <see cref="PromoteBatch"/> of its oldest parked jobs take its free slots. More: the batch was full.</summary>
    private async Task<(List<JobEntry> Jobs, bool More)> UnparkBatchAsync(string keyId, int? limit, CancellationToken cancellationToken)
    {
        var free = limit is { } max ? Math.Min(await FreeAsync(keyId, max, cancellationToken), PromoteBatch) : PromoteBatch;
        if (free <= 0)
        {
            return ([], false);
        }
        if (await Ledger.UnparkOldestAsync(keyId, free, cancellationToken) is { } handedOver)
        {
            // One statement (not on SQL Server); the embedded database's bound is told after it, still under the key's lock.
            handedOver.ForEach(_ => queries.Stored(keyId, parked: false));
            if (handedOver.Count < free)
            {
                queries.NoneParked(keyId); // all handed over
            }
            return (handedOver, handedOver.Count == PromoteBatch);
        }
        var next = await Db.Jobs.AsNoTracking()
            .Where(j => j.OwnerKeyId == keyId && j.Parked && j.Status == JobStatus.Queued)
            .OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
            .Take(free)
            .ToListAsync(cancellationToken);
        List<JobEntry> unparked = [];
        foreach (var job in next)
        {
            queries.Stored(keyId, parked: false);
            if (await Ledger.TryUnparkAsync(job.Id, cancellationToken))
            {
                unparked.Add(job);
            }
        }
        if (next.Count < free)
        {
            queries.NoneParked(keyId); // all handed over
        }
        return (unparked, next.Count == PromoteBatch);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A slot of key {KeyId} was freed, but the database is unavailable to hand it a parked job ({Reason}); the next sweep does")]
    private static partial void LogPromotionLeft(ILogger logger, string keyId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A direct execution of key {KeyId} ended, but the database is unavailable to give its slot back ({Reason}); it counts until it expires at {ExpiresAt:u}")]
    private static partial void LogDirectSlotLeft(ILogger logger, string keyId, DateTime expiresAt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} took a freed slot but could not be handed to Hangfire; it is enqueued again at the next sweep")]
    private static partial void LogHandOverFailed(ILogger logger, Exception exception, string jobId);

    /// <summary>
    /// Whether a new job of the key is parked: its slots are all held, or it has parked jobs, which a slot free now
    /// goes to first. Either is answered from memory on the embedded database while what it remembers allows.
    /// </summary>
    private async Task<bool> ParksAsync(string keyId, int limit, CancellationToken cancellationToken) =>
        await AtLimitAsync(keyId, limit, cancellationToken) || await queries.HasParkedAsync(Context, keyId, cancellationToken);

    /// <summary>Whether the key's jobs (handed to Hangfire and not ended) and its direct executions hold <paramref name="limit"/> slots or more.</summary>
    private async Task<bool> AtLimitAsync(string keyId, int limit, CancellationToken cancellationToken) =>
        await queries.HoldAtLeastAsync(Context, keyId, limit - await directs.CountAsync(Context, keyId, cancellationToken), cancellationToken);

    /// <summary>The key's slots not held by its jobs or direct executions (0 or less when none are free).</summary>
    private async Task<int> FreeAsync(string keyId, int limit, CancellationToken cancellationToken)
    {
        var left = limit - await directs.CountAsync(Context, keyId, cancellationToken);
        return left - await queries.HeldByJobsAsync(Context, keyId, left, cancellationToken);
    }

    /// <summary>
    /// The key with its limits as admission sees them: this node's key cache, read again after Auth:KeyCacheTtl.
    /// Null when revoked; a job handed over just before a revocation reached this node does not start either
    /// (<see cref="Jobs.JobLedger"/>'s start checks the key).
    /// </summary>
    private async Task<ApiKeyIdentity?> OwnerAsync(string keyId, CancellationToken cancellationToken) =>
        await keys.FindAsync(keyId, cancellationToken);
}

/// <summary>A direct execution's slot, given back when disposed.</summary>
public sealed class DirectSlot(ExecutionSlots slots, DirectExecution execution) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => new(slots.ReleaseDirectAsync(execution));
}
