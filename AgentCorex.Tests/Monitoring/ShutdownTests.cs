using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// What a stopping server answers while its running jobs drain, in-process: its host told to stop, as SIGTERM does.
/// (GracefulShutdownTests does the same to a real process, with what it leaves behind.)
/// </summary>
public sealed class ShutdownTests
{
    [Test]
    public async Task WhileItDrains_TheServerRefusesNewExecutions_StillServesReads_AndIsNotReady()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:ShutdownTimeout"] = "00:00:03" });
        using var admin = app.CreateAdminClient();
        var running = await admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await admin.WaitForStatusAsync(running, "running");
        var jobsBefore = await JobCountAsync(admin);

        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        var echo = new { message = "too late" };
        var submitted = await admin.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = echo });
        var queued = await admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = echo, mode = "async" });
        var executed = await admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = echo });
        var read = await admin.GetAsync($"/jobs/{running}");
        var ready = await admin.GetAsync("/health/ready");
        var jobsAfter = await JobCountAsync(admin);

        foreach (var (response, body) in new[] { (submitted, await submitted.ReadObjectAsync()), (queued, await queued.ReadObjectAsync()), (executed, await executed.ReadObjectAsync()) })
        {
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body.ToJsonString());
                Assert.That(body.Str("error.code"), Is.EqualTo("SERVER_SHUTTING_DOWN"));
                Assert.That(body.Str("error.message"), Does.Contain("starts no new executions"));
                Assert.That((body.Str("status"), body.Str("tool")), Is.EqualTo(("error", "echo")), "an execution's error names its tool");
            });
        }
        var readiness = await ready.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK), "reads are still served");
            Assert.That(jobsAfter, Is.EqualTo(jobsBefore), "no job was stored");
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(readiness.Str("checks.shutdown"), Is.EqualTo("unhealthy"));
            Assert.That(readiness.Str("checks.database"), Is.EqualTo("healthy"));
        });
    }

    [Test]
    public async Task WhileItDrains_ANewStreamIsRefused_AsANewExecutionIs_NotAnsweredWithAnEmptyStream()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:ShutdownTimeout"] = "00:00:03" });
        using var admin = app.CreateAdminClient();
        var running = await admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await admin.WaitForStatusAsync(running, "running");

        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        // An empty 200 would have EventSource reconnect to this node again and again while it drains.
        var streamed = await admin.GetAsync($"/jobs/{running}/stream");
        var body = await streamed.ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(streamed.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body.ToJsonString());
            Assert.That(body.Str("error.code"), Is.EqualTo("SERVER_SHUTTING_DOWN"));
            Assert.That(body.Str("error.message"), Does.Contain("opens no new streams"));
            Assert.That(streamed.Headers.Contains("Retry-After"), Is.False, "as every SERVER_SHUTTING_DOWN: the client goes to another node now");
        });
    }

    private static async Task<long> JobCountAsync(HttpClient admin) =>
        (await (await admin.GetAsync("/jobs?limit=1")).ReadObjectAsync()).At("pagination.total")!.GetValue<long>();
}
