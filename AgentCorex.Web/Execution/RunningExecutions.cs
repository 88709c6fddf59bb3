namespace AgentCorex.Web.Execution;

/// <summary>
/// The execution requests (POST /execute_tool, POST /jobs/submit) this node has admitted and not yet answered, so that
/// a stopping node keeps answering (503 to new work, reads served, not ready) until they end, as it does for jobs.
/// </summary>
public sealed class RunningExecutions
{
    private int count;

    public int Count => Volatile.Read(ref count);

    public Scope Enter()
    {
        Interlocked.Increment(ref count);
        return new Scope(this);
    }

    public readonly struct Scope(RunningExecutions executions) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref executions.count);
    }
}
