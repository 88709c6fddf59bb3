using System.Collections.Concurrent;
using AgentCorex.Web.Concurrency;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Jobs whose submit was answered with an error after their ledger row was stored, and whose row could not be taken
/// back then (the database went away between storing the job and handing it to Hangfire). Left in the ledger as
/// queued, the repair pass would enqueue them after Jobs:QueuedRepairGrace, running a job its client was told had
/// failed and has likely sent again; <see cref="JobRecovery"/> takes them back at its next pass instead.
/// </summary>
public sealed class AbandonedSubmits
{
    private readonly ConcurrentDictionary<string, JobEntry> jobs = new(StringComparer.Ordinal);

    public void Add(JobEntry job) => jobs[job.Id] = job;

    /// <summary>
    /// Takes the job back now if it is one of these: a retry of its submit with the same Idempotency-Key is then a new
    /// submit, not answered a job about to be removed. True when it was one and is gone from the ledger; false when it
    /// was not one, or started after all. Left for the next pass, and rethrown, when the database fails again.
    /// </summary>
    public async Task<bool> TryTakeBackAsync(string jobId, JobLedger ledger, ExecutionSlots slots, CancellationToken cancellationToken)
    {
        if (!jobs.TryRemove(jobId, out var job))
        {
            return false;
        }
        bool removed;
        try
        {
            removed = await ledger.RemoveAsync(jobId, cancellationToken);
        }
        catch
        {
            Add(job);
            throw;
        }
        if (removed)
        {
            await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
        }
        return removed;
    }

    /// <summary>Removes each still queued from the ledger and frees its slot; one that fails again stays for the next call.</summary>
    public async Task TakeBackAllAsync(JobLedger ledger, ExecutionSlots slots, CancellationToken cancellationToken)
    {
        foreach (var (id, job) in jobs)
        {
            var removed = await ledger.RemoveAsync(id, cancellationToken);
            jobs.TryRemove(id, out _);
            if (removed)
            {
                // Removed: a stop now does not leave the slot it held to the next sweep of parked jobs (as JobSubmitter's own
                // take-back). Not removed, it started after all, and its end frees the slot.
                await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
            }
        }
    }
}
