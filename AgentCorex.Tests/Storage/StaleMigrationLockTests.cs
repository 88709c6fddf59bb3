using AgentCorex.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Tests.Storage;

/// <summary>
/// The chaos run (bench/Chaos) killed a start 1.5 s in, while it applied the embedded database's migrations: EF Core's
/// migration lock, a row in __EFMigrationsLock, stayed behind, and every later start waited for it for ever, silently.
/// </summary>
[NonParallelizable]
public sealed class StaleMigrationLockTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-migration-lock-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

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

        await using var server = await ServerProcess.StartAsync(data, new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Information" });

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
