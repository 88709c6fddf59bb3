using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Execution;

/// <summary>
/// A direct execution whose client goes away (a closed connection, a proxy's read timeout) is canceled with no answer
/// written: the log is the only place that tells it.
/// </summary>
public sealed class ExecutionClientGoneTests
{
    private readonly CapturedLogs logs = new();
    private AgentCorexApp app = null!;
    private WebApplicationFactory<Program> logged = null!;

    [OneTimeSetUp]
    public void StartServer()
    {
        app = new AgentCorexApp();
        logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        logged?.Dispose();
        app?.Dispose();
    }

    [Test]
    public async Task ADirectExecution_WhoseClientGoesAway_IsLoggedOnce_WithItsToolKeyAndTime()
    {
        var gate = Guid.NewGuid().ToString("N");
        using var client = logged.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        using var goAway = new CancellationTokenSource();

        var execution = client.PostAsJsonAsync("/execute_tool", new { tool = "test_gate", arguments = new { gate }, timeout_ms = 60_000 }, goAway.Token);
        await Until(() => GateTool.Reached(gate), "the tool runs");
        await goAway.CancelAsync();
        Assert.That(async () => await execution, Throws.InstanceOf<OperationCanceledException>());
        await Until(() => Gone().Count > 0, "the line is logged");

        Assert.That(Gone(), Has.Count.EqualTo(1).And.One.Match(
            "^AgentCorex.Web.Execution.ExecuteToolController: Execution exec_[a-z0-9]{12} of test_gate for key_configured_admin canceled: its client went away after [0-9]+ ms"));
    }

    private List<string> Gone() => [.. logs.At(LogLevel.Information).Where(line => line.Contains("its client went away", StringComparison.Ordinal))];

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), what);
            await Task.Delay(20);
        }
    }
}
