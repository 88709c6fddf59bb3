namespace AgentCorex.Web.Streaming;

/// <summary>What a job's streams were last sent of it, to tell whether a poll found anything new.</summary>
public readonly record struct StreamedState(string Status, int Attempt, Execution.ToolProgress? Progress, int? PositionInQueue);

/// <summary>An event of a watched job, and the poll that found the job in that state (numbered from 1, as they start).</summary>
public sealed record WatchedEvent(JobEvent Event, long Poll);

/// <summary>One watched job: its last seen state and the task its streams wait on for the next.</summary>
/// <param name="createdAt">The job's created_at, which never changes: the places in the queue are read up to the latest.</param>
public sealed class JobWatch(DateTime createdAt)
{
    private readonly Lock gate = new();
    private TaskCompletionSource<WatchedEvent> next = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int subscribers;
    private bool removed;
    private long joinedAt;

    public DateTime CreatedAt => createdAt;

    public StreamedState? State { get; private set; }

    public WatchedEvent? Latest { get; private set; }

    public Task<WatchedEvent> Next
    {
        get
        {
            lock (gate)
            {
                return next.Task;
            }
        }
    }

    /// <param name="polls">The polls started when the stream joined, after its own read of the job.</param>
    public bool TryAddSubscriber(long polls)
    {
        lock (gate)
        {
            if (removed)
            {
                return false;
            }
            subscribers++;
            joinedAt = Math.Max(joinedAt, polls);
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

    /// <summary>
    /// Whether a stream waits on <paramref name="poll"/>: one joined after the last event's poll had started, and takes
    /// nothing of it (that poll may have read the job before the stream's own read did). A queued job's place is then
    /// read whatever the cadence, and an unchanged job is confirmed (<see cref="Confirm"/>).
    /// </summary>
    public bool IsAwaitedBy(long poll)
    {
        lock (gate)
        {
            return IsAwaited(poll);
        }
    }

    private bool IsAwaited(long poll) => poll > joinedAt && (Latest?.Poll ?? 0) <= joinedAt;

    public void Publish(StreamedState state, JobEvent job, long poll)
    {
        var published = new WatchedEvent(job, poll);
        TaskCompletionSource<WatchedEvent> waiting;
        lock (gate)
        {
            State = state;
            waiting = Release(published);
        }
        waiting.SetResult(published);
    }

    /// <summary>
    /// <paramref name="poll"/> found the job as last published: the streams waiting on it (<see cref="IsAwaitedBy"/>) are
    /// given the same event again, as this poll's. Without it, a stream whose own read came before a poll that saw the
    /// job change (to its final state, say) would wait for a next change that never comes. Nobody waiting, nobody is woken.
    /// </summary>
    public void Confirm(long poll)
    {
        WatchedEvent confirmed;
        TaskCompletionSource<WatchedEvent> waiting;
        lock (gate)
        {
            if (Latest is not { } latest || !IsAwaited(poll))
            {
                return;
            }
            confirmed = latest with { Poll = poll };
            waiting = Release(confirmed);
        }
        waiting.SetResult(confirmed);
    }

    /// <summary>Under the gate: makes <paramref name="latest"/> the latest, and returns the task its streams wait on, to complete outside.</summary>
    private TaskCompletionSource<WatchedEvent> Release(WatchedEvent latest)
    {
        Latest = latest;
        var waiting = next;
        next = new TaskCompletionSource<WatchedEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        return waiting;
    }
}
