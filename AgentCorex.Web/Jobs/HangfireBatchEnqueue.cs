using Hangfire;
using Hangfire.Client;
using Hangfire.Common;
using Hangfire.States;
using Hangfire.Storage;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Hands many ledger jobs to Hangfire at once, in their order: the start's recovery of a deep queue. Hangfire's client
/// creates a job in two storage round trips (the job, then its Enqueued state), and on Hangfire.InMemory each is a
/// hand-over to its dispatcher thread and a wait for it: that was most of a restart with 50,000 queued jobs (see
/// docs/benchmarks.md). Here one storage transaction creates a batch of jobs and applies their Enqueued state, through
/// Hangfire's own state machine (its election and apply filters run as for the client), and the queue gets them in the
/// order given. Client filters run only inside Hangfire's client: where one applies to tool jobs (none does by default),
/// or where the storage cannot create a job in a transaction, each job goes through the client as before.
/// </summary>
internal sealed class HangfireBatchEnqueue(JobStorage storage, IJobFilterProvider filters, TimeProvider time)
{
    /// <summary>How long a created job lives before its state is applied, as Hangfire's client gives it.</summary>
    private static readonly TimeSpan CreatedJobExpiration = TimeSpan.FromDays(30);

    public void Enqueue(IReadOnlyList<QueuedJob> jobs, IBackgroundJobClient client)
    {
        if (jobs.Count == 0)
        {
            return;
        }
        // Every job of a batch runs the same method, so it has the same filters: looked up once, not once a job.
        var batchFilters = filters.GetFilters(JobSubmitter.HangfireJob(jobs[0])).ToList();
        if (!storage.HasFeature(JobStorageFeatures.Transaction.CreateJob) || batchFilters.Any(f => f.Instance is IClientFilter or IClientExceptionFilter))
        {
            foreach (var job in jobs)
            {
                JobSubmitter.Enqueue(client, job);
            }
            return;
        }
        var stateMachine = new StateMachine(new SameFilters(batchFilters));
        using var connection = storage.GetConnection();
        using var transaction = (JobStorageTransaction)connection.CreateWriteTransaction();
        var createdAt = time.GetUtcNow().UtcDateTime;
        var noParameters = new Dictionary<string, string?>();
        foreach (var job in jobs)
        {
            var hangfireJob = JobSubmitter.HangfireJob(job);
            var id = transaction.CreateJob(hangfireJob, noParameters, createdAt, CreatedJobExpiration);
            stateMachine.ApplyState(new ApplyStateContext(
                storage, connection, transaction, new BackgroundJob(id, hangfireJob, createdAt), new EnqueuedState(), oldStateName: null));
        }
        transaction.Commit();
    }

    private sealed class SameFilters(List<JobFilter> filters) : IJobFilterProvider
    {
        public IEnumerable<JobFilter> GetFilters(Job job) => filters;
    }
}
