using System.Threading.Channels;

namespace AgentCorex.Web.Storage;

/// <summary>
/// The embedded database's hot writes, run by one thread of their own in group commits. The writes waiting when
/// the thread takes its next turn go into one transaction, so one commit, and one write to the WAL of each page
/// they change, serves them all. The thread also never waits to be scheduled between two writes, as callers
/// taking turns at the <see cref="WriteGate"/> did (measured in docs/benchmarks.md). A caller's task completes
/// once its write is committed, so what it then reads, on any connection, includes it.
/// </summary>
/// <remarks>
/// A statement that fails (a constraint) fails alone: SQLite undoes that statement and keeps the transaction.
/// Should a failure end the whole transaction instead (a full disk, an I/O error), its writes run again one at a
/// time, each committed on its own, so each caller learns the fate of its own write. The thread holds the
/// <see cref="WriteGate"/> for each turn, so the rarer writes that go through EF Core still take turns with it.
/// </remarks>
public sealed class SqliteWriter : IDisposable
{
    /// <summary>Writes in one transaction at most: enough to share a commit, few enough that the first is not kept long.</summary>
    private const int MaxBatch = 64;

    /// <summary>Writes waiting at most; callers beyond it wait for room.</summary>
    private const int MaxWaiting = 10_000;

    /// <summary>How often the checkpointer copies commits back into the database (nothing to copy costs next to nothing).</summary>
    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromMilliseconds(200);

    /// <summary>How long after a write refused as the database being unavailable (a full disk) the writer counts as refusing.</summary>
    public static readonly TimeSpan RefusalWindow = TimeSpan.FromSeconds(10);

    private readonly SqliteStatements statements;
    private readonly EmbeddedDatabaseFile? file;
    private volatile Refusal? lastRefusal;
    private readonly SqliteStatements checkpoints;
    private readonly WriteGate gate;
    private readonly Thread checkpointer;
    private readonly ManualResetEventSlim stopping = new();
    private readonly Channel<Write> waiting = Channel.CreateBounded<Write>(
        new BoundedChannelOptions(MaxWaiting) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Thread thread;

    /// <param name="file">The database's file, whose writes are refused once it is gone; null for an in-memory database.</param>
    public SqliteWriter(string connectionString, string synchronous, WriteGate gate, EmbeddedDatabaseFile? file = null)
    {
        this.file = file;
        statements = new SqliteStatements(connectionString, synchronous);
        checkpoints = new SqliteStatements(connectionString, synchronous);
        this.gate = gate;
        thread = new Thread(Run) { IsBackground = true, Name = "AgentCorex SQLite writer" };
        thread.Start();
        checkpointer = new Thread(Checkpoint) { IsBackground = true, Name = "AgentCorex SQLite checkpointer" };
        checkpointer.Start();
    }

    /// <summary>
    /// Runs <paramref name="template"/> (parameters written {0}, {1}, ... as for EF Core's ExecuteSqlRaw) with
    /// these values; returns the number of rows it changed. Canceling the token withdraws a write the thread
    /// has not taken yet; one it has taken is done.
    /// </summary>
    public Task<int> ExecuteAsync(string template, object?[] values, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write<int>(s => s.Execute(template, values)), cancellationToken);

    /// <summary>Runs <paramref name="template"/> as <see cref="ExecuteAsync"/> does; returns its first row read by <paramref name="read"/>, or the default.</summary>
    public Task<T?> QueryFirstAsync<T>(string template, Func<Microsoft.Data.Sqlite.SqliteDataReader, T> read, object?[] values, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write<T?>(s => s.QueryFirst(template, read, values)), cancellationToken);

    /// <summary>Runs <paramref name="template"/> as <see cref="ExecuteAsync"/> does; returns every row it answers, each read by <paramref name="read"/>.</summary>
    public Task<List<T>> QueryAllAsync<T>(string template, Func<Microsoft.Data.Sqlite.SqliteDataReader, T> read, object?[] values, CancellationToken cancellationToken) =>
        EnqueueAsync(new Write<List<T>>(s => s.QueryAll(template, read, values)), cancellationToken);

    private Task<T> EnqueueAsync<T>(Write<T> write, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }
        write.WithdrawOn(cancellationToken);
        return waiting.Writer.TryWrite(write) ? write.Task : EnqueueWhenRoomAsync(write, cancellationToken);
    }

    private async Task<T> EnqueueWhenRoomAsync<T>(Write<T> write, CancellationToken cancellationToken)
    {
        await waiting.Writer.WriteAsync(write, cancellationToken);
        return await write.Task;
    }

    private void Run()
    {
        var batch = new List<Write>(MaxBatch);
        while (WaitForWrites())
        {
            while (batch.Count < MaxBatch && waiting.Reader.TryRead(out var write))
            {
                if (write.TryTake())
                {
                    batch.Add(write);
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            if (file is { IsGone: true })
            {
                // Its connection would write on into a file that no longer has its name: the writes would be lost.
                batch.ForEach(write => Refuse(write, file.Refusal()));
            }
            else
            {
                using (gate.Enter())
                {
                    if (batch.Count == 1 || !TryRunTogether(batch))
                    {
                        batch.ForEach(RunAlone);
                    }
                }
            }
            batch.Clear();
        }
    }

    /// <summary>
    /// Copies what was committed to the WAL back into the database, off the writer's thread (no connection of
    /// this process checkpoints as it commits, see <see cref="SqlitePragmas"/>). PASSIVE: it never waits for the
    /// writer or a reader, and copies what it can; what a reader still needs is copied on a later turn.
    /// </summary>
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

    /// <summary>Blocks this thread until a write waits; false once the writer is disposed and nothing is left.</summary>
    private bool WaitForWrites()
    {
        var ready = waiting.Reader.WaitToReadAsync();
        return ready.IsCompleted ? ready.Result : ready.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The batch in one transaction, each write completed after the commit; false when the transaction was lost, nothing completed.</summary>
    private bool TryRunTogether(List<Write> batch)
    {
        try
        {
            statements.Execute("BEGIN IMMEDIATE");
            foreach (var write in batch)
            {
                try
                {
                    write.Run(statements);
                }
                catch (Exception failure) when (statements.InTransaction)
                {
                    Fail(write, failure); // SQLite undid this statement alone
                }
            }
            statements.Execute("COMMIT");
        }
        catch (Exception)
        {
            RollBackIfOpen();
            return false;
        }
        batch.ForEach(write => write.Complete());
        return true;
    }

    private void RollBackIfOpen()
    {
        try
        {
            if (statements.InTransaction)
            {
                statements.Execute("ROLLBACK");
            }
        }
        catch (Exception)
        {
            // The connection is broken; its next statement opens it again (SqliteStatements).
            statements.Reset();
        }
    }

    private void RunAlone(Write write)
    {
        try
        {
            write.Run(statements);
        }
        catch (Exception failure)
        {
            Fail(write, failure);
        }
        write.Complete();
    }

    /// <summary>
    /// Why the writer refused a write as the database being unavailable (a full disk, an I/O error, its file gone) in
    /// the last <see cref="RefusalWindow"/>, or null: /health/ready is unready meanwhile, so that a load balancer sends
    /// the writes elsewhere, and ready again once the window passes with no refusal (a write to try, for a node it
    /// took out: one that still fails takes it out again).
    /// </summary>
    public string? RecentRefusal() =>
        lastRefusal is { } refusal && Environment.TickCount64 - refusal.AtTicks < (long)RefusalWindow.TotalMilliseconds ? refusal.Reason : null;

    private void Fail(Write write, Exception failure)
    {
        if (DatabaseFailures.IsUnavailable(failure))
        {
            lastRefusal = new Refusal(Environment.TickCount64, failure.GetBaseException().Message);
        }
        write.Failed(failure);
    }

    private void Refuse(Write write, Exception refusal)
    {
        Fail(write, refusal);
        write.Complete();
    }

    private sealed record Refusal(long AtTicks, string Reason);

    /// <summary>Runs what is still waiting, then closes the connections (the last one to close checkpoints the rest).</summary>
    public void Dispose()
    {
        if (waiting.Writer.TryComplete())
        {
            thread.Join();
            stopping.Set();
            checkpointer.Join();
            statements.Dispose();
            checkpoints.Dispose();
            stopping.Dispose();
        }
    }

    private abstract class Write
    {
        private const int Waiting = 0, Taken = 1, Withdrawn = 2;
        private int state;

        /// <summary>Claims the write for the thread; false when its caller withdrew it first.</summary>
        public bool TryTake() => Interlocked.CompareExchange(ref state, Taken, Waiting) == Waiting;

        protected bool TryWithdraw() => Interlocked.CompareExchange(ref state, Withdrawn, Waiting) == Waiting;

        /// <summary>Runs the statement and keeps its outcome, reported by <see cref="Complete"/>; resets any earlier outcome.</summary>
        public abstract void Run(SqliteStatements statements);

        public abstract void Failed(Exception failure);

        public abstract void Complete();

    }

    private sealed class Write<T>(Func<SqliteStatements, T> statement) : Write
    {
        // Continuations run on the thread pool, never on the writer's thread.
        private readonly TaskCompletionSource<T> outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenRegistration withdrawal;
        private T? result;
        private Exception? failure;

        public Task<T> Task => outcome.Task;

        public void WithdrawOn(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                withdrawal = cancellationToken.Register(static (state, token) =>
                {
                    var write = (Write<T>)state!;
                    if (write.TryWithdraw())
                    {
                        write.outcome.TrySetCanceled(token);
                    }
                }, this);
            }
        }

        public override void Run(SqliteStatements statements)
        {
            failure = null;
            result = statement(statements);
        }

        public override void Failed(Exception failure) => this.failure = failure;

        public override void Complete()
        {
            withdrawal.Dispose();
            if (failure is null)
            {
                outcome.TrySetResult(result!);
            }
            else
            {
                outcome.TrySetException(failure);
            }
        }
    }
}
