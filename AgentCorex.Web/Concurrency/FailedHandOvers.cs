using System.Collections.Concurrent;
using AgentCorex.Web.Jobs;
using Hangfire;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// Jobs this node took out of parking but could not hand to Hangfire (its storage failed: the database went away
/// between the two). Each holds a slot of its key, so <see cref="ParkedJobsSweeper"/> enqueues them again at its next
/// pass instead of leaving them to the repair pass's Jobs:QueuedRepairGrace; should a job end up with two Hangfire
/// jobs, the second finds it no longer queued and ends without touching it. A crash forgets them: the repair pass
/// is the net for that, as for any node that died between storing a job and enqueueing it.
/// </summary>
public sealed class FailedHandOvers
{
    private readonly ConcurrentDictionary<string, JobEntry> jobs = new(StringComparer.Ordinal);

    public void Add(JobEntry job) => jobs[job.Id] = job;

    /// <summary>Enqueues each; one that fails again stays for the next call.</summary>
    public void RetryAll(IBackgroundJobClient hangfire)
    {
        foreach (var (id, job) in jobs)
        {
            JobSubmitter.Enqueue(hangfire, job);
            jobs.TryRemove(id, out _);
        }
    }
}
