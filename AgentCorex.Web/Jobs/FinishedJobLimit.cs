using Hangfire.States;
using Hangfire.Storage;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Keeps at most <paramref name="limit"/> finished jobs in Hangfire.InMemory (Jobs:InMemoryMaxFinishedJobs), which
/// bounds a finished job's stay by time only (Jobs:InMemoryJobExpiration): at a sustained 100 jobs/s its 3 hours held
/// over a million jobs, more than a GB of heap. As a job enters a final state, the job that ended longest ago is
/// dropped in the same transaction once more than the limit have ended. A job taken out of its final state again (a
/// requeue from the dashboard) no longer counts, and is never dropped for it. The ids are the embedded storage's Guids.
/// A job whose own end commits after a later end's transaction dropped it stays (its end sets its expiration again) until
/// it expires by time: possible only while more than the limit of ends are applied before its commit.
/// </summary>
internal sealed class FinishedJobLimit(int limit) : IApplyStateFilter
{
    private readonly Lock gate = new();
    private readonly Queue<(Guid Id, long End)> endOrder = new();
    private readonly Dictionary<Guid, long> ended = [];
    private long ends;

    public void OnStateApplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (!context.NewState.IsFinal || !Guid.TryParse(context.BackgroundJob.Id, out var id))
        {
            return;
        }
        List<Guid>? dropped = null;
        lock (gate)
        {
            ended[id] = ++ends;
            endOrder.Enqueue((id, ends));
            while (endOrder.Count > limit)
            {
                var oldest = endOrder.Dequeue();
                // Another end of the same job is further on, or it left its final state: not this entry's to drop.
                if (ended.TryGetValue(oldest.Id, out var end) && end == oldest.End)
                {
                    ended.Remove(oldest.Id);
                    (dropped ??= []).Add(oldest.Id);
                }
            }
        }
        foreach (var old in dropped ?? [])
        {
            transaction.ExpireJob(old.ToString(), TimeSpan.Zero);
        }
    }

    public void OnStateUnapplied(ApplyStateContext context, IWriteOnlyTransaction transaction)
    {
        if (Guid.TryParse(context.BackgroundJob.Id, out var id))
        {
            lock (gate)
            {
                ended.Remove(id);
            }
        }
    }
}
