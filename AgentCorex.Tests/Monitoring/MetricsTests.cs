using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// /metrics: who may scrape it, and that what the server does shows in its meters. Each test uses tools of its own
/// and waits for its jobs to end, so the counts it compares before and after are its own.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class MetricsTests(TestStorage storage) : ServerTest(storage)
{
    private const string ScrapeToken = "scrape-token-for-the-tests-0123456789";

    private WebhookReceiver receiver = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Monitoring:ScrapeToken"] = ScrapeToken,
        ["Network:AllowPrivateTargets"] = "true",
        ["Webhooks:RetryBaseDelay"] = "00:00:00.2",
        ["Webhooks:MaxAttempts"] = "3",
    };

    [OneTimeSetUp]
    public async Task StartReceiver() => receiver = await WebhookReceiver.StartAsync();

    [OneTimeTearDown]
    public async Task StopReceiver() => await receiver.DisposeAsync();

    [Test]
    public async Task Metrics_AnswersAnAdminKeyAndTheScrapeToken()
    {
        using var scraper = App.CreateClient(ScrapeToken);
        foreach (var client in new[] { Admin, scraper })
        {
            var response = await client.GetAsync("/metrics");
            var text = await response.Content.ReadAsStringAsync();
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
                Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
                Assert.That(text, Does.Contain("# TYPE agentcorex_jobs_submitted_total counter"));
                Assert.That(text, Does.Contain("# TYPE agentcorex_tool_execution_duration_seconds histogram"));
            });
        }
    }

    [Test]
    public async Task Metrics_AnswersUnauthorized_ToAnyoneElse()
    {
        var user = await App.CreateKeyAsync("enterprise");
        (string Why, AuthenticationHeaderValue? Header)[] refused =
        [
            ("no credentials", null),
            ("a key that is not an admin's", new("Bearer", user.ApiKey)),
            ("a wrong token", new("Bearer", "scrape-token-for-the-tests-012345678X")),
            ("the token cut short", new("Bearer", ScrapeToken[..^1])),
            ("the token with another scheme", new("Basic", ScrapeToken)),
            ("the admin key as a password", new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("admin:" + AgentCorexApp.AdminKey)))),
        ];
        foreach (var (why, header) in refused)
        {
            using var client = App.CreateClient();
            client.DefaultRequestHeaders.Authorization = header;
            var response = await client.GetAsync("/metrics");
            var body = await response.ReadObjectAsync();
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), why);
                Assert.That(body.Str("error.code"), Is.EqualTo("UNAUTHORIZED"), why);
                Assert.That(body.Str("error.message"), Is.Not.Empty, why);
                Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"), why);
                Assert.That(body.ToJsonString(), Does.Not.Contain(ScrapeToken[..12]), why);
            });
        }
    }

    [Test]
    public async Task Jobs_AreCountedAsSubmittedStartedAndFinished_ByToolAndStatus()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync("enterprise")).ApiKey);
        var before = await PrometheusText.ScrapeAsync(Admin);

        var echo = await user.SubmitAsync("echo", new { message = "counted" });
        var fail = await user.SubmitAsync("fail", new { message = "counted failure" });
        Assert.That((await user.WaitForFinalAsync(echo)).Str("status"), Is.EqualTo("completed"));
        Assert.That((await user.WaitForFinalAsync(fail)).Str("status"), Is.EqualTo("failed"));

        var after = await PrometheusText.WaitForAsync(Admin, m => Grew(before, m, "agentcorex_jobs_finished_total", ("tool", "fail")) >= 1);
        Assert.Multiple(() =>
        {
            Assert.That(Grew(before, after, "agentcorex_jobs_submitted_total", ("tool", "echo")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_jobs_started_total", ("tool", "echo")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_jobs_finished_total", ("tool", "echo"), ("status", "completed")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_jobs_submitted_total", ("tool", "fail")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_jobs_finished_total", ("tool", "fail"), ("status", "failed")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_jobs_queue_wait_duration_seconds_count", ("tool", "echo")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_tool_execution_duration_seconds_count", ("tool", "echo"), ("outcome", "success")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_tool_execution_duration_seconds_count", ("tool", "fail"), ("outcome", "failed")), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task TimedOutAndCanceledJobs_AreCountedWithTheirStatus()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync("enterprise")).ApiKey);
        var before = await PrometheusText.ScrapeAsync(Admin);

        var timedOut = await user.SubmitAsync("wait", new { duration_ms = 10_000 }, timeoutMs: 300);
        var canceled = await user.SubmitAsync("wait", new { duration_ms = 60_000 });
        await user.WaitForStatusAsync(canceled, "running");
        Assert.That((await user.DeleteAsync($"/jobs/{canceled}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await user.WaitForFinalAsync(timedOut)).Str("status"), Is.EqualTo("timeout"));

        var after = await PrometheusText.WaitForAsync(Admin, m => Grew(before, m, "agentcorex_jobs_finished_total", ("tool", "wait")) >= 2);
        Assert.Multiple(() =>
        {
            Assert.That(Grew(before, after, "agentcorex_jobs_finished_total", ("tool", "wait"), ("status", "timeout")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_jobs_finished_total", ("tool", "wait"), ("status", "canceled")), Is.EqualTo(1));
            Assert.That(Grew(before, after, "agentcorex_tool_execution_duration_seconds_count", ("tool", "wait"), ("outcome", "timeout")), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task DirectExecutions_AreTimed_ButNotCountedAsJobs()
    {
        var before = await PrometheusText.ScrapeAsync(Admin);

        var response = await Admin.PostJsonAsync("/execute_tool", new
        {
            tool = "test_nested",
            arguments = new { target = new { host = "example.org", port = 443 }, tags = new[] { "a" } },
        });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());

        var after = await PrometheusText.WaitForAsync(Admin, m => Grew(before, m, "agentcorex_tool_execution_duration_seconds_count", ("tool", "test_nested")) >= 1);
        Assert.Multiple(() =>
        {
            Assert.That(Grew(before, after, "agentcorex_tool_execution_duration_seconds_count", ("tool", "test_nested"), ("outcome", "success")), Is.EqualTo(1));
            Assert.That(after.Value("agentcorex_tool_execution_duration_seconds_bucket", ("tool", "test_nested"), ("le", "+Inf")),
                Is.EqualTo(after.Value("agentcorex_tool_execution_duration_seconds_count", ("tool", "test_nested"))), "a histogram with buckets");
            Assert.That(Grew(before, after, "agentcorex_jobs_submitted_total", ("tool", "test_nested")), Is.Zero);
        });
    }

    [Test]
    public async Task RateLimitRefusals_AreCountedByLimitAndPlan()
    {
        var created = await (await Admin.PostAsJsonAsync("/api_keys", new { name = "metered", plan = "free", rate_limits = new { requests_per_minute = 1 } })).ReadObjectAsync();
        using var user = App.CreateClient(created.Str("api_key"));
        var before = await PrometheusText.ScrapeAsync(Admin);

        // One request a minute: of three in a row, at least one is refused even if a minute begins between them.
        var refused = 0;
        for (var i = 0; i < 3; i++)
        {
            var response = await user.PostJsonAsync("/jobs/submit", new { tool = "test_record", arguments = new { label = $"metered {i}" } });
            refused += response.StatusCode == HttpStatusCode.TooManyRequests ? 1 : 0;
        }
        Assert.That(refused, Is.InRange(1, 2));

        var after = await PrometheusText.WaitForAsync(Admin, m => Grew(before, m, "agentcorex_rate_limit_refusals_total") >= refused);
        Assert.Multiple(() =>
        {
            Assert.That(Grew(before, after, "agentcorex_rate_limit_refusals_total", ("limit", "execution"), ("plan", "free")), Is.EqualTo(refused));
            Assert.That(Grew(before, after, "agentcorex_rate_limit_refusals_total"), Is.EqualTo(refused));
        });
    }

    [Test]
    public async Task DirectExecutionsOverTheKeysExecutionsAtOnce_AreCountedAsRefusals()
    {
        var created = await (await Admin.PostAsJsonAsync("/api_keys", new { name = "one at a time", plan = "enterprise", admin = true, rate_limits = new { max_concurrent = 1 } })).ReadObjectAsync();
        using var admin = App.CreateClient(created.Str("api_key"));
        var job = await admin.SubmitAsync("test_side_effect", new { duration_ms = 60_000 });
        await admin.WaitForStatusAsync(job, "running");
        var before = await PrometheusText.ScrapeAsync(Admin);

        var refused = await admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "one too many" } });
        await admin.DeleteAsync($"/jobs/{job}?force=true");

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), await refused.Content.ReadAsStringAsync());
        var after = await PrometheusText.WaitForAsync(Admin, m => Grew(before, m, "agentcorex_rate_limit_refusals_total") >= 1);
        Assert.That(Grew(before, after, "agentcorex_rate_limit_refusals_total", ("limit", "concurrent"), ("plan", "admin")), Is.EqualTo(1));
    }

    [Test]
    public async Task WebhookAttempts_AreCountedByOutcome()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync("enterprise")).ApiKey);
        var retried = await user.RegisterWebhookAsync(receiver.NewEndpoint(new Answer(500)), "job.completed");
        var refused = await user.RegisterWebhookAsync(receiver.NewEndpoint(new Answer(400)), "job.completed");
        var before = await PrometheusText.ScrapeAsync(Admin);

        var job = await user.SubmitAsync("test_record", new { label = "announced" });
        await user.WaitForFinalAsync(job);
        await user.WaitForEndedDeliveryAsync(retried.Str("webhook_id")!, "job.completed");
        await user.WaitForEndedDeliveryAsync(refused.Str("webhook_id")!, "job.completed");

        var after = await PrometheusText.WaitForAsync(Admin, m => Grew(before, m, "agentcorex_webhooks_deliveries_total") >= 3);
        Assert.Multiple(() =>
        {
            Assert.That(Grew(before, after, "agentcorex_webhooks_deliveries_total", ("outcome", "retrying")), Is.EqualTo(1), "the 500");
            Assert.That(Grew(before, after, "agentcorex_webhooks_deliveries_total", ("outcome", "delivered")), Is.EqualTo(1), "the retry");
            Assert.That(Grew(before, after, "agentcorex_webhooks_deliveries_total", ("outcome", "failed")), Is.EqualTo(1), "the 400");
        });
    }

    private static double Grew(PrometheusText before, PrometheusText after, string name, params (string, string)[] labels) =>
        after.Value(name, labels) - before.Value(name, labels);
}
