using System.Collections.Concurrent;
using AgentCorex.Web.Concurrency;
using Hangfire;

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

    private readonly ConcurrentDictionary<string, JobEntry> unsent = new(StringComparer.Ordinal);

    public void Add(JobEntry job) => jobs[job.Id] = job;

    /// <summary>
    /// A job submitted with an Idempotency-Key whose hand-over to Hangfire failed: kept, not taken back, as its client's
    /// retry with the key is answered this job (it may already have been, by a retry racing the submit). Handed over
    /// again at the next pass (<see cref="TakeBackAllAsync"/>), or at such a retry on this node (<see cref="HandOverNow"/>);
    /// a node gone meanwhile leaves it to the repair of queued jobs (Jobs:QueuedRepairGrace).
    /// </summary>
    public void KeepToHandOver(JobEntry job) => unsent[job.Id] = job;

    /// <summary>Hands the job over now if it is one kept to hand over; when that fails again it stays kept, and the failure is thrown.</summary>
    public void HandOverNow(string jobId, IBackgroundJobClient hangfire)
    {
        if (unsent.TryRemove(jobId, out var job))
        {
            HandOver(job, hangfire);
        }
    }

    private void HandOver(JobEntry job, IBackgroundJobClient hangfire)
    {
        try
        {
            JobSubmitter.Enqueue(hangfire, job);
        }
        catch
        {
            KeepToHandOver(job);
            throw;
        }
    }

    /// <summary>
    /// Removes each still queued from the ledger and frees its slot, and hands over each kept one (a canceled one's
    /// Hangfire job finds it canceled and ends); one that fails again stays for the next call.
    /// </summary>
    public async Task TakeBackAllAsync(JobLedger ledger, ExecutionSlots slots, IBackgroundJobClient hangfire, CancellationToken cancellationToken)
    {
        foreach (var id in unsent.Keys)
        {
            try
            {
                HandOverNow(id, hangfire);
            }
            catch (Exception e) when (Storage.DatabaseFailures.IsUnavailable(e))
            {
                break; // kept, for the next pass
            }
        }
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
