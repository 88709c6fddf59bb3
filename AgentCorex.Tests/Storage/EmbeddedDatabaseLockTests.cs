using System.Net;
using AgentCorex.Tests.Infrastructure;

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
}
