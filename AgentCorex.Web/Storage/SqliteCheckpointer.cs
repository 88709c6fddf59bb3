namespace AgentCorex.Web.Storage;

/// <summary>
/// Copies what was committed to the WAL back into the database, on a thread and a connection of its own, off the
/// <see cref="SqliteWriter"/>'s thread (no connection of this process checkpoints as it commits, see
/// <see cref="SqlitePragmas"/>). PASSIVE: it never waits for the writer or a reader, and copies what it can; what a
/// reader still needs is copied on a later turn.
/// </summary>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>How often the checkpointer copies commits back into the database (nothing to copy costs next to nothing).</summary>
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromMilliseconds(200);

    private readonly SqliteStatements checkpoints;
    private readonly ManualResetEventSlim stopping = new();
    private readonly Thread thread;

    public SqliteCheckpointer(string connectionString, string synchronous)
    {
        checkpoints = new SqliteStatements(connectionString, synchronous);
        thread = new Thread(Checkpoint) { IsBackground = true, Name = "AgentCorex SQLite checkpointer" };
        thread.Start();
    }

    private void Checkpoint()
    {
        while (!stopping.Wait(CheckpointEvery))
        {
            try
            {
                checkpoints.Execute("PRAGMA wal_checkpoint(PASSIVE)");
            }
            catch (Exception)
            {
                checkpoints.Reset(); // tried again on the next turn, on a new connection
            }
        }
    }

    /// <summary>Stops the thread after its current turn, then closes its connection.</summary>
    public void Dispose()
    {
        stopping.Set();
        thread.Join();
        checkpoints.Dispose();
        stopping.Dispose();
    }
}
