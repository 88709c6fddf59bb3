using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;
using AgentCorex.Web.Execution;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
        using var client = AdminClient(logged);
        using var goAway = new CancellationTokenSource();

        var execution = await RunUntilTheToolWaitsAsync(client, goAway.Token);
        await goAway.CancelAsync();
        Assert.That(async () => await execution, Throws.InstanceOf<OperationCanceledException>());
        await Until(() => Gone().Count > 0, "the line is logged");

        Assert.That(Gone(), Has.Count.EqualTo(1).And.One.Match(
            "^AgentCorex.Web.Execution.ExecuteToolController: Execution exec_[a-z0-9]{12} of test_gate for key_configured_admin canceled: its client went away after [0-9]+ ms"));
    }

    [Test]
    public async Task AConnectionThatEndsWhileTheServerStops_IsNotLoggedAsItsClientGoingAway()
    {
        // Kestrel drops the connections still open as the host stops: the client did not go away. A server of its own,
        // as it is stopped.
        var stoppingLogs = new CapturedLogs();
        using var stoppingApp = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:ShutdownTimeout"] = "00:00:30" });
        using var stopping = stoppingApp.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(stoppingLogs)));
        using var client = AdminClient(stopping);
        using var dropped = new CancellationTokenSource();

        var execution = await RunUntilTheToolWaitsAsync(client, dropped.Token);
        // Resolved before the stop: a host that has stopped disposes its services.
        var running = stopping.Services.GetRequiredService<RunningExecutions>();
        stopping.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        await dropped.CancelAsync();
        Assert.That(async () => await execution, Throws.InstanceOf<OperationCanceledException>());
        await Until(() => running.Count == 0, "the execution ends");

        Assert.That(stoppingLogs.At(LogLevel.Information).Where(line => line.Contains("its client went away", StringComparison.Ordinal)), Is.Empty);
    }

    private static HttpClient AdminClient(WebApplicationFactory<Program> server)
    {
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        return client;
    }

    /// <summary>A direct execution whose tool is running, waiting at a gate never opened, until <paramref name="requestEnds"/> ends its request.</summary>
    private static async Task<Task<HttpResponseMessage>> RunUntilTheToolWaitsAsync(HttpClient client, CancellationToken requestEnds)
    {
        var gate = Guid.NewGuid().ToString("N");
        var execution = client.PostAsJsonAsync("/execute_tool", new { tool = "test_gate", arguments = new { gate }, timeout_ms = 60_000 }, requestEnds);
        await Until(() => GateTool.Reached(gate), "the tool runs");
        return execution;
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
