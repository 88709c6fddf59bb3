using System.Net;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// Every log line about a job carries the job's scope (job_id, tool, key_id): from its submission through its run,
/// a tool that throws, a cancel and its webhook deliveries, and never a key or a webhook secret.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed partial class JobLogScopeTests(TestStorage storage)
{
    private readonly CapturedLogs logs = new();
    private AgentCorexApp app = null!;
    private WebApplicationFactory<Program> logged = null!;
    private WebhookReceiver receiver = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var settings = storage == TestStorage.PostgreSql ? await ServerTest.PostgreSqlSettingsAsync() : [];
        settings["Network:AllowPrivateTargets"] = "true";
        app = new AgentCorexApp(settings);
        // The job lines at Debug are asked for too, as an operator would to follow jobs.
        logged = app.WithWebHostBuilder(host => host
            .UseSetting("Logging:LogLevel:AgentCorex", "Debug")
            .ConfigureLogging(logging => logging.AddProvider(logs)));
        receiver = await WebhookReceiver.StartAsync();
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        logged.Dispose();
        app.Dispose();
        await receiver.DisposeAsync();
    }

    [Test]
    public async Task EveryLineAboutAJob_CarriesItsJobIdToolAndKeyId_AndNoSecret()
    {
        using var admin = logged.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var key = await (await admin.PostJsonAsync("/api_keys", new { name = "logged", plan = "enterprise" })).ReadObjectAsync();
        using var user = logged.CreateClient();
        user.DefaultRequestHeaders.Authorization = new("Bearer", key.Str("api_key"));
        var webhook = await user.RegisterWebhookAsync(receiver.NewEndpoint(), "job.completed");

        var echo = await user.SubmitAsync("echo", new { message = "in scope" });
        var thrown = await user.SubmitAsync("test_throw", new { message = "boom in scope" });
        var canceled = await user.SubmitAsync("wait", new { duration_ms = 60_000 });
        await user.WaitForStatusAsync(canceled, "running");
        Assert.That((await user.DeleteAsync($"/jobs/{canceled}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await user.WaitForFinalAsync(echo);
        await user.WaitForFinalAsync(thrown);
        await user.WaitForEndedDeliveryAsync(webhook.Str("webhook_id")!, "job.completed");

        var keyId = key.Str("key_id");
        var jobs = new Dictionary<string, string> { [echo] = "echo", [thrown] = "test_throw", [canceled] = "wait" };
        // The dispatcher logs an attempt just after storing it: the stored state can be seen before the line is written.
        for (var deadline = DateTime.UtcNow.AddSeconds(5); DateTime.UtcNow < deadline && !logs.Lines.Any(l => l.Contains("Webhook delivery", StringComparison.Ordinal));)
        {
            await Task.Delay(20);
        }
        var lines = logs.Lines.ToList();
        Assert.Multiple(() =>
        {
            foreach (var (jobId, tool) in jobs)
            {
                var scope = $"[job {jobId} of {tool} for {keyId}]";
                // A request's own lines (routing, authentication) name the job only in their request path scope.
                var about = lines.Where(l => RequestScope().Replace(l, "").Contains(jobId, StringComparison.Ordinal)).ToList();
                Assert.That(about, Is.Not.Empty, jobId);
                Assert.That(about.Where(l => !l.Contains(scope, StringComparison.Ordinal)), Is.Empty, $"lines about {jobId} without its scope");
            }
            Assert.That(lines, Has.Some.Contain($"Job {echo} submitted").And.Contain($"[job {echo} of echo for {keyId}]"));
            Assert.That(lines, Has.Some.Contain($"Job {echo} started").And.Contain($"[job {echo} of echo for {keyId}]"));
            Assert.That(lines, Has.Some.Contain($"Job {echo} ended completed").And.Contain($"[job {echo} of echo for {keyId}]"));
            Assert.That(lines, Has.Some.Contain("Tool test_throw threw").And.Contain($"[job {thrown} of test_throw for {keyId}]"));
            Assert.That(lines, Has.Some.Contain($"Job {canceled} canceled by its owner").And.Contain($"[job {canceled} of wait for {keyId}]"));
            Assert.That(lines, Has.Some.Contain("Webhook delivery").And.Contain($"[job {echo} of echo for {keyId}]"));

            var secrets = new[] { key.Str("api_key")!.Split('_')[2], webhook.Str("secret")!["whsec_".Length..], AgentCorexApp.AdminKey };
            foreach (var secret in secrets)
            {
                Assert.That(lines, Has.None.Contain(secret));
            }
            Assert.That(lines.Where(l => Secret().IsMatch(l)), Is.Empty);
        });
    }

    [GeneratedRegex(@"\[RequestPath:[^\]]*\]")]
    private static partial Regex RequestScope();

    /// <summary>An API key or a webhook secret, whoever's.</summary>
    [GeneratedRegex(@"acx_[a-z0-9]{12}_|whsec_[A-Za-z0-9+/]{8}")]
    private static partial Regex Secret();
}
