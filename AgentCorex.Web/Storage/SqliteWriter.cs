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

    /// <summary>How long after a write refused as the database being unavailable (a full disk) the writer counts as refusing.</summary>
    public static readonly TimeSpan RefusalWindow = TimeSpan.FromSeconds(10);

    private readonly SqliteStatements statements;
    private readonly EmbeddedDatabaseFile? file;
    private volatile Refusal? lastRefusal;
    private readonly WriteGate gate;
    private readonly SqliteCheckpointer checkpointer;
    private readonly Channel<SqliteWrite> waiting = Channel.CreateBounded<SqliteWrite>(
        new BoundedChannelOptions(MaxWaiting) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Thread thread;

    /// <param name="file">The database's file, whose writes are refused once it is gone; null for an in-memory database.</param>
    public SqliteWriter(string connectionString, string synchronous, WriteGate gate, EmbeddedDatabaseFile? file = null)
    {
        this.file = file;
        statements = new SqliteStatements(connectionString, synchronous);
        this.gate = gate;
        thread = new Thread(Run) { IsBackground = true, Name = "AgentCorex SQLite writer" };
        thread.Start();
        checkpointer = new SqliteCheckpointer(connectionString, synchronous);
    }

    /// <summary>
    /// Runs <paramref name="template"/> (parameters written {0}, {1}, ... as for EF Core's ExecuteSqlRaw) with
    /// these values; returns the number of rows it changed. Canceling the token withdraws a write the thread
    /// has not taken yet; one it has taken is done.
    /// </summary>
    public Task<int> ExecuteAsync(string template, object?[] values, CancellationToken cancellationToken) =>
        EnqueueAsync(new SqliteWrite<int>(s => s.Execute(template, values)), cancellationToken);

    /// <summary>Runs <paramref name="template"/> as <see cref="ExecuteAsync"/> does; returns its first row read by <paramref name="read"/>, or the default.</summary>
    public Task<T?> QueryFirstAsync<T>(string template, Func<Microsoft.Data.Sqlite.SqliteDataReader, T> read, object?[] values, CancellationToken cancellationToken) =>
        EnqueueAsync(new SqliteWrite<T?>(s => s.QueryFirst(template, read, values)), cancellationToken);

    /// <summary>Runs <paramref name="template"/> as <see cref="ExecuteAsync"/> does; returns every row it answers, each read by <paramref name="read"/>.</summary>
    public Task<List<T>> QueryAllAsync<T>(string template, Func<Microsoft.Data.Sqlite.SqliteDataReader, T> read, object?[] values, CancellationToken cancellationToken) =>
        EnqueueAsync(new SqliteWrite<List<T>>(s => s.QueryAll(template, read, values)), cancellationToken);

    private Task<T> EnqueueAsync<T>(SqliteWrite<T> write, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }
        write.WithdrawOn(cancellationToken);
        return waiting.Writer.TryWrite(write) ? write.Task : EnqueueWhenRoomAsync(write, cancellationToken);
    }

    private async Task<T> EnqueueWhenRoomAsync<T>(SqliteWrite<T> write, CancellationToken cancellationToken)
    {
        await waiting.Writer.WriteAsync(write, cancellationToken);
        return await write.Task;
    }

    private void Run()
    {
        var batch = new List<SqliteWrite>(MaxBatch);
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

    /// <summary>Blocks this thread until a write waits; false once the writer is disposed and nothing is left.</summary>
    private bool WaitForWrites()
    {
        var ready = waiting.Reader.WaitToReadAsync();
        return ready.IsCompleted ? ready.Result : ready.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>The batch in one transaction, each write completed after the commit; false when the transaction was lost, nothing completed.</summary>
    private bool TryRunTogether(List<SqliteWrite> batch)
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

    private void RunAlone(SqliteWrite write)
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

    private void Fail(SqliteWrite write, Exception failure)
    {
        if (DatabaseFailures.IsUnavailable(failure))
        {
            lastRefusal = new Refusal(Environment.TickCount64, failure.GetBaseException().Message);
        }
        write.Failed(failure);
    }

    private void Refuse(SqliteWrite write, Exception refusal)
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
            checkpointer.Dispose();
            statements.Dispose();
        }
    }
}
