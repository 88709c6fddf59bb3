namespace AgentCorex.Web.Storage;

/// <summary>
/// SQLite takes one writer at a time; when two connections write at once, Microsoft.Data.Sqlite answers the
/// loser's SQLITE_BUSY by sleeping 150 ms and retrying, which stalled job throughput under load (measured:
/// about 360 jobs/s). Queuing the writes of this process here instead hands the lock over in microseconds.
/// A database that takes concurrent writers gets a gate that lets everyone through.
/// </summary>
public sealed class WriteGate(bool serialize)
{
    private readonly SemaphoreSlim gate = new(1, 1);

    public async ValueTask<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        if (!serialize)
        {
            return default;
        }
        await gate.WaitAsync(cancellationToken);
        return new Releaser(gate);
    }

    /// <summary>As <see cref="EnterAsync"/>, blocking the calling thread: for a thread of its own (<see cref="SqliteWriter"/>).</summary>
    public Releaser Enter()
    {
        if (!serialize)
        {
            return default;
        }
        gate.Wait();
        return new Releaser(gate);
    }

    public readonly struct Releaser(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }
}
