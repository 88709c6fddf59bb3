namespace AgentCorex.Web.Streaming;

/// <summary>What a job's streams were last sent of it, to tell whether a poll found anything new.</summary>
public readonly record struct StreamedState(string Status, int Attempt, Execution.ToolProgress? Progress, int? PositionInQueue);

/// <summary>One watched job: its last seen state and the task its streams wait on for the next.</summary>
/// <param name="createdAt">The job's created_at, which never changes: the places in the queue are read up to the latest.</param>
public sealed class JobWatch(DateTime createdAt)
{
    private readonly Lock gate = new();
    private TaskCompletionSource<JobEvent> next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int subscribers;
    private bool removed;

    public DateTime CreatedAt => createdAt;

    public StreamedState? State { get; private set; }

    public JobEvent? Latest { get; private set; }

    public Task<JobEvent> Next
    {
        get
        {
            lock (gate)
            {
                return next.Task;
            }
        }
    }

    public bool TryAddSubscriber()
    {
        lock (gate)
        {
            if (removed)
            {
                return false;
            }
            subscribers++;
            return true;
        }
    }

    /// <summary>True when that was the last subscriber: the watch is then retired.</summary>
    public bool RemoveSubscriber()
    {
        lock (gate)
        {
            removed = --subscribers == 0;
            return removed;
        }
    }

    public void Publish(StreamedState state, JobEvent job)
    {
        TaskCompletionSource<JobEvent> published;
        lock (gate)
        {
            State = state;
            Latest = job;
            published = next;
            next = new TaskCompletionSource<JobEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        published.SetResult(job);
    }
}
