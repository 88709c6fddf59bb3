using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>A real process started with settings its checks refuse: what an operator sees, and the exit code a service manager sees.</summary>
[NonParallelizable]
public sealed class StartupErrorTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-startup-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task RefusedSettings_EndTheStart_WithTheirMessageAndExitCode1_NotAsACrash()
    {
        // The maximum below the default timeout (30000), which is left as it is.
        var settings = new Dictionary<string, string> { ["Execution:MaxTimeoutMs"] = "1000" };

        var failure = Assert.ThrowsAsync<InvalidOperationException>(async () => await ServerProcess.StartAsync(data, settings))!;

        Assert.Multiple(() =>
        {
            Assert.That(failure.Message, Does.StartWith("the server exited with 1:"));
            Assert.That(failure.Message, Does.Contain("AgentCorex cannot start: Execution:DefaultTimeoutMs must not exceed Execution:MaxTimeoutMs."));
            // The host's own log line about the failed start remains; the process no longer aborts on an unhandled exception.
            Assert.That(failure.Message, Does.Not.Contain("Unhandled exception"));
        });
    }
}
