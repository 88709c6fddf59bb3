using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Tests.Storage;

/// <summary>
/// Two processes on one embedded database: the second would recover the first one's queued jobs as its own (running
/// them twice) and fail its running ones as cut off. The embedded default serves one node, and says so.
/// </summary>
[NonParallelizable]
public sealed class EmbeddedDatabaseLockTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-lock-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task ASecondProcessOnTheSameDatabase_IsRefused_AndTheFirstGoesOn()
    {
        await using var first = await ServerProcess.StartAsync(data);

        var refused = Assert.ThrowsAsync<InvalidOperationException>(async () => await ServerProcess.StartAsync(data))!;

        using var client = first.CreateClient();
        Assert.Multiple(async () =>
        {
            Assert.That(refused.Message, Does.StartWith("the server exited with 1:"));
            Assert.That(refused.Message, Does.Contain("AgentCorex cannot start: the embedded database '" + Path.Combine(data, "agentcorex.db") + "' is in use by another AgentCorex process"));
            Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task AProcessKilledWithoutAStop_LeavesTheDatabaseFreeForTheNext()
    {
        var first = await ServerProcess.StartAsync(data);
        await first.KillAsync();
        await first.DisposeAsync();

        await using var second = await ServerProcess.StartAsync(data);

        using var client = second.CreateClient();
        Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>An audit started a server on a database on a read-only file system, and was told another process held it.</summary>
    [Test]
    public void ALockFileThatCannotBeOpened_IsSaidToBeSo_NotToBeHeldByAnotherProcess()
    {
        var lockFile = Path.Combine(data, "agentcorex.db.lock");
        File.CreateSymbolicLink(lockFile, lockFile); // a link to itself: ELOOP, an I/O error that is no other process

        using var app = new AgentCorexApp(dataDirectory: data);
        var error = Assert.Catch<Exception>(() => app.CreateClient());

        Assert.That(error!.Message, Does.StartWith($"the embedded database's lock file '{lockFile}' cannot be opened:"));
    }

    [Test]
    public void InOneProcess_TheSecondServerOnTheFile_IsRefusedToo_AndTheFileIsFreeOnceTheFirstIsGone()
    {
        using (var first = new AgentCorexApp(dataDirectory: data))
        {
            first.CreateClient().Dispose();

            using var second = new AgentCorexApp(dataDirectory: data);
            var error = Assert.Catch<Exception>(() => second.CreateClient());
            Assert.That(error!.Message, Does.Contain("is in use by another AgentCorex process"));
        }

        using var third = new AgentCorexApp(dataDirectory: data);
        Assert.DoesNotThrow(() => third.CreateClient().Dispose());
    }

    /// <summary>
    /// The chaos run (bench/Chaos) killed a start 1.5 s in, while it applied the migrations: EF Core's migration lock, a
    /// row in __EFMigrationsLock, stayed behind, and every later start waited for it for ever, silently. The file lock
    /// says no other process can be migrating.
    /// </summary>
    [Test]
    public async Task Start_AfterAStartKilledWhileMigrating_ReleasesTheDeadProcesssLock_AndRuns()
    {
        // What a kill -9 between EF Core's taking its lock and its first migration's commit leaves: the lock's table and row.
        var file = Path.Combine(data, "agentcorex.db");
        await using (var connection = new SqliteConnection($"Data Source={file};Pooling=false"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE "__EFMigrationsLock" ("Id" INTEGER NOT NULL CONSTRAINT "PK___EFMigrationsLock" PRIMARY KEY, "Timestamp" TEXT NOT NULL);
                INSERT INTO "__EFMigrationsLock" ("Id", "Timestamp") VALUES (1, '2026-11-30 17:07:02.6825571+00:00');
                """;
            await command.ExecuteNonQueryAsync();
        }

        await using var server = await ServerProcess.StartAsync(data);

        using var client = server.CreateClient();
        var job = await client.SubmitAsync("echo", new { message = "after the stale lock" });
        var end = await client.WaitForFinalAsync(job, within: TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(end.Str("status"), Is.EqualTo("completed"));
            Assert.That(server.Output, Does.Contain("A start killed while it migrated the embedded database left EF Core's migration lock behind: released"));
        });
    }
}
