using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Health;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Moq;

namespace AgentCorex.Tests.Health;

/// <summary>
/// An unready node is told by /health/ready's answer, not by a line per probe: a load balancer probes every few
/// seconds, and the health check service's Error line for each unhealthy check tripped alerts at every deploy.
/// </summary>
public sealed class ReadinessLogTests
{
    private const string HealthCheckService = "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService";

    [Test]
    public async Task UnreadyProbesDuringADrain_LogNoLineOfTheHealthCheckService_WithItsCategoryAtTrace()
    {
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:ShutdownTimeout"] = "00:00:03" });
        using var logged = app.WithWebHostBuilder(host => host
            .UseSetting($"Logging:LogLevel:{HealthCheckService}", "Trace")
            .ConfigureLogging(logging => logging.AddProvider(logs)));
        using var admin = logged.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var running = await admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await admin.WaitForStatusAsync(running, "running");

        logged.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var probes = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            probes.Add((await admin.GetAsync("/health/ready")).StatusCode);
        }

        Assert.Multiple(() =>
        {
            Assert.That(probes, Is.All.EqualTo(HttpStatusCode.ServiceUnavailable), "not ready while it drains");
            Assert.That(logs.Lines, Has.Some.Contain("Application is shutting down"), "the capture works");
            Assert.That(logs.Lines.Where(l => l.StartsWith(HealthCheckService, StringComparison.Ordinal)), Is.Empty);
        });
    }

    [Test]
    public async Task AProbeThatFailsUnexpectedly_IsLoggedOnce_AsTheHealthCheckServicesLinesAreHeldBack()
    {
        var logs = new CapturedLogs();
        // A fault of the probe's own, not an outage: its scopes cannot be made.
        var scopes = new Mock<IServiceScopeFactory>();
        scopes.Setup(s => s.CreateScope()).Throws(new NotSupportedException("a bug of the probe's"));
        using var app = new AgentCorexApp();
        using var logged = app.WithWebHostBuilder(host => host
            .ConfigureLogging(logging => logging.AddProvider(logs))
            .ConfigureTestServices(services => services.AddSingleton(provider => new DatabaseProbe(
                scopes.Object, TimeProvider.System, provider.GetRequiredService<ILogger<DatabaseProbe>>(), provider.GetService<LostConnections>()))));
        using var client = logged.CreateClient();

        var ready = await client.GetAsync("/health/ready");

        Assert.Multiple(() =>
        {
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(logs.At(LogLevel.Error).Where(l => l.StartsWith(typeof(DatabaseProbe).FullName!, StringComparison.Ordinal)),
                Has.One.Contain("a bug of the probe's"));
        });
    }
}
