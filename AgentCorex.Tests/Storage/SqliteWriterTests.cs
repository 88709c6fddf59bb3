using AgentCorex.Web.Storage;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Tests.Storage;

/// <summary>
/// The embedded database's writer thread on a real SQLite file. The writer takes its turn at the
/// <see cref="WriteGate"/>, so a test that holds the gate makes the writes queue up, and the writer then runs
/// all those queued in one transaction.
/// </summary>
public sealed class SqliteWriterTests
{
    private const string Insert = "INSERT INTO notes (id, text) VALUES ({0}, {1})";

    private string folder = null!;
    private string connectionString = null!;
    private WriteGate gate = null!;
    private SqliteWriter writer = null!;

    [SetUp]
    public void CreateDatabase()
    {
        folder = Directory.CreateTempSubdirectory("agentcorex-writer-").FullName;
        connectionString = $"Data Source={Path.Combine(folder, "writer.db")};Pooling=False";
        using var connection = Open();
        using var schema = connection.CreateCommand();
        schema.CommandText =
            """
            PRAGMA journal_mode=WAL;
            CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
            CREATE TRIGGER poison BEFORE INSERT ON notes WHEN NEW.text = 'poison' BEGIN SELECT RAISE(ROLLBACK, 'poisoned'); END;
            """;
        schema.ExecuteNonQuery();
        gate = new WriteGate(serialize: true);
        writer = new SqliteWriter(connectionString, "NORMAL", gate);
    }

    [TearDown]
    public void DeleteDatabase()
    {
        writer.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    private List<string> Notes()
    {
        using var connection = Open();
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT text FROM notes ORDER BY id";
        using var reader = read.ExecuteReader();
        var notes = new List<string>();
        while (reader.Read())
        {
            notes.Add(reader.GetString(0));
        }
        return notes;
    }

    /// <summary>
    /// The checkpointer copies the log (WAL) back into the database beside the writer, but a log is only started over
    /// once all of it is copied, which writes that never pause never allowed: an audit saw it reach 4.9 GB in a minute
    /// of 1,000 jobs a second, for a 78 MB database. Its size stays bounded: here nearly 600 MB go through a log
    /// started over past 64 MB (the readers then reading from it may hold it a little longer).
    /// </summary>
    [Test]
    public async Task TheLog_StaysBounded_UnderWritesThatNeverPause()
    {
        var log = Path.Combine(folder, "writer.db-wal");
        var text = new string('x', 16_000);
        long largest = 0;
        using var done = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            using var connection = Open();
            using var read = connection.CreateCommand();
            read.CommandText = "SELECT max(id) FROM notes";
            while (!done.IsCancellationRequested)
            {
                read.ExecuteScalar();
                largest = Math.Max(largest, File.Exists(log) ? new FileInfo(log).Length : 0);
                await Task.Delay(1);
            }
        });

        var writing = new List<Task<int>>();
        for (var id = 1; id <= 36_000; id++)
        {
            writing.Add(writer.ExecuteAsync(Insert, [id, text], CancellationToken.None));
            if (writing.Count == 64)
            {
                await Task.WhenAll(writing);
                writing.Clear();
            }
        }
        await Task.WhenAll(writing);
        await done.CancelAsync();
        await reading;

        Assert.That(largest, Is.LessThan(200L << 20), $"the log reached {largest >> 20} MB");
    }

    /// <summary>
    /// Holds the gate while <paramref name="queue"/> queues writes, after one write the writer has taken and
    /// waits with at the gate: those queued meanwhile then run in one transaction.
    /// </summary>
    private async Task<Task<int>> QueuedBehindTheGateAsync(Func<Task> queue)
    {
        Task<int> first;
        using (await gate.EnterAsync(CancellationToken.None))
        {
            first = writer.ExecuteAsync(Insert, [1, "first"], CancellationToken.None);
            await Task.Delay(200); // the writer takes it and waits at the gate
            await queue();
        }
        return first;
    }

    [Test]
    public async Task EachWrite_IsCommitted_WhenItsTaskCompletes()
    {
        var writes = Enumerable.Range(1, 500).Select(i => Task.Run(async () =>
        {
            var changed = await writer.ExecuteAsync(Insert, [i, $"note {i}"], CancellationToken.None);
            using var connection = Open(); // another connection, as a reader of the ledger would be
            using var read = connection.CreateCommand();
            read.CommandText = $"SELECT COUNT(*) FROM notes WHERE id = {i}";
            return (changed, seen: Convert.ToInt32(read.ExecuteScalar()));
        }));

        var outcomes = await Task.WhenAll(writes);

        Assert.Multiple(() =>
        {
            Assert.That(outcomes.Select(o => o.changed), Is.All.EqualTo(1));
            Assert.That(outcomes.Select(o => o.seen), Is.All.EqualTo(1), "a write read back after its task completed");
            Assert.That(Notes(), Has.Count.EqualTo(500));
        });
    }

    [Test]
    public async Task QueryFirst_ReturnsTheRowItsStatementReturns()
    {
        await writer.ExecuteAsync(Insert, [7, "before"], CancellationToken.None);

        var returned = await writer.QueryFirstAsync("UPDATE notes SET text = {0} WHERE id = {1} RETURNING text", r => r.GetString(0), ["after", 7], CancellationToken.None);
        var none = await writer.QueryFirstAsync("UPDATE notes SET text = {0} WHERE id = {1} RETURNING text", r => r.GetString(0), ["after", 8], CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(returned, Is.EqualTo("after"));
            Assert.That(none, Is.Null);
        });
    }

    [Test]
    public async Task AFailingStatement_InATransactionWithOthers_FailsAlone()
    {
        Task<int> good = null!, duplicate = null!, alsoGood = null!;
        var first = await QueuedBehindTheGateAsync(() =>
        {
            good = writer.ExecuteAsync(Insert, [2, "good"], CancellationToken.None);
            duplicate = writer.ExecuteAsync(Insert, [2, "a second row 2"], CancellationToken.None);
            alsoGood = writer.ExecuteAsync(Insert, [3, "also good"], CancellationToken.None);
            return Task.CompletedTask;
        });

        await first;
        Assert.Multiple(async () =>
        {
            Assert.That(await good, Is.EqualTo(1));
            var failure = Assert.ThrowsAsync<SqliteException>(async () => await duplicate);
            Assert.That(failure!.SqliteErrorCode, Is.EqualTo(SQLitePCL.raw.SQLITE_CONSTRAINT));
            Assert.That(await alsoGood, Is.EqualTo(1));
            Assert.That(Notes(), Is.EqualTo(new[] { "first", "good", "also good" }));
        });
    }

    [Test]
    public async Task AStatementThatEndsTheTransaction_LosesNoOtherWrite()
    {
        // RAISE(ROLLBACK) undoes the whole transaction, as a full disk or an I/O error would: the writes before
        // the poisoned one were done and undone, and must be done again.
        Task<int> before = null!, poisoned = null!, after = null!;
        var first = await QueuedBehindTheGateAsync(() =>
        {
            before = writer.ExecuteAsync(Insert, [2, "before"], CancellationToken.None);
            poisoned = writer.ExecuteAsync(Insert, [3, "poison"], CancellationToken.None);
            after = writer.ExecuteAsync(Insert, [4, "after"], CancellationToken.None);
            return Task.CompletedTask;
        });

        await first;
        Assert.Multiple(async () =>
        {
            Assert.That(await before, Is.EqualTo(1));
            Assert.ThrowsAsync<SqliteException>(async () => await poisoned);
            Assert.That(await after, Is.EqualTo(1));
            Assert.That(Notes(), Is.EqualTo(new[] { "first", "before", "after" }));
        });
    }

    [Test]
    public async Task AWriteWithdrawnBeforeItsTurn_IsNeverDone()
    {
        using var withdraw = new CancellationTokenSource();
        Task<int> withdrawn = null!, kept = null!;
        var first = await QueuedBehindTheGateAsync(async () =>
        {
            withdrawn = writer.ExecuteAsync(Insert, [2, "withdrawn"], withdraw.Token);
            kept = writer.ExecuteAsync(Insert, [3, "kept"], CancellationToken.None);
            await withdraw.CancelAsync();
        });

        await first;
        Assert.Multiple(async () =>
        {
            Assert.That(withdrawn.IsCanceled, Is.True);
            Assert.That(await kept, Is.EqualTo(1));
            Assert.That(Notes(), Is.EqualTo(new[] { "first", "kept" }));
        });
    }

    [Test]
    public async Task Dispose_RunsTheWritesStillWaiting()
    {
        var writes = Enumerable.Range(1, 200).Select(i => writer.ExecuteAsync(Insert, [i, $"note {i}"], CancellationToken.None)).ToList();

        writer.Dispose();

        Assert.Multiple(async () =>
        {
            Assert.That(writes.All(w => w.IsCompletedSuccessfully), Is.True);
            Assert.That(await Task.WhenAll(writes), Is.All.EqualTo(1));
            Assert.That(Notes(), Has.Count.EqualTo(200));
        });
    }

    [Test]
    public async Task Commits_AreCopiedBackIntoTheDatabase_ByTheCheckpointer()
    {
        // No connection of the app checkpoints as it commits (wal_autocheckpoint=0): the writer's checkpointer must.
        var file = new FileInfo(Path.Combine(folder, "writer.db"));
        var before = file.Length;
        var text = new string('x', 1_000);
        await Task.WhenAll(Enumerable.Range(1, 2_000).Select(i => writer.ExecuteAsync(Insert, [i, text], CancellationToken.None)));

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline && new FileInfo(file.FullName).Length < before + 1_000_000)
        {
            await Task.Delay(50);
        }

        Assert.That(new FileInfo(file.FullName).Length, Is.GreaterThan(before + 1_000_000), "2 MB of rows in the database file, not only in its WAL");
    }
}
