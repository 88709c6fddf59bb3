using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentCorex.Tests.Docs;

/// <summary>Real answers of the API, each checked against what /openapi/v1.json says that route answers.</summary>
public sealed class ApiDocsConformanceTests() : WebhookServerTest(TestStorage.Embedded)
{
    private OpenApiContract contract = null!;

    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?> { ["Webhooks:MaxPerKey"] = "1" };

    [OneTimeSetUp]
    public async Task ReadTheDocument() => contract = await OpenApiContract.ReadAsync(App);

    private async Task<HttpResponseMessage> Described(Task<HttpResponseMessage> request, string path, string method)
    {
        var response = await request;
        await contract.AssertDescribesAsync(response, path, method);
        await AssertDetailsNamedAsync(response, path, method);
        return response;
    }

    /// <summary>
    /// Each field of an error's details is one the document names in the schema of that answer's status, so that a
    /// generated client reads it typed; the body's validation checks its type. Stricter than the schema, which takes any
    /// other field (a tool's own): the tools these tests fail give none.
    /// </summary>
    private async Task AssertDetailsNamedAsync(HttpResponseMessage response, string path, string method)
    {
        var body = await response.Content.ReadAsStringAsync();
        if (response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != "application/json"
            || JsonNode.Parse(body)?.At("error.details") is not JsonObject details)
        {
            return;
        }
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var named = contract.ErrorDetails(path, method, status)?["properties"]?.AsObject().Select(p => p.Key) ?? [];
        Assert.That(details.Select(d => d.Key), Is.SubsetOf(named), $"{method.ToUpperInvariant()} {path} {status} answered details its document does not name: {body}");
    }

    [Test]
    public async Task WebhookAnswers_AreDescribed_WithTheFieldsLeftOutThatAreNull()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var endpoint = Receiver.NewEndpoint();

        var created = await Described(user.PostJsonAsync("/webhooks", new { url = endpoint, events = new[] { "job.queued" } }), "/webhooks", "post");
        var webhookId = (await created.ReadObjectAsync()).Str("webhook_id");
        var overLimit = await Described(user.PostJsonAsync("/webhooks", new { url = endpoint, events = new[] { "job.queued" } }), "/webhooks", "post");
        await Described(user.GetAsync("/webhooks"), "/webhooks", "get");
        var read = await Described(user.GetAsync($"/webhooks/{webhookId}"), "/webhooks/{webhook_id}", "get");
        await user.SubmitAsync("echo", new { message = "hi" });
        await user.WaitForEndedDeliveryAsync(webhookId!, "job.queued");
        var deliveries = await Described(user.GetAsync($"/webhooks/{webhookId}/deliveries?limit=10"), "/webhooks/{webhook_id}/deliveries", "get");
        await Described(user.GetAsync($"/webhooks/{webhookId}/deliveries?limit=0"), "/webhooks/{webhook_id}/deliveries", "get");
        await Described(user.DeleteAsync($"/webhooks/{webhookId}"), "/webhooks/{webhook_id}", "delete");
        await Described(user.DeleteAsync($"/webhooks/{webhookId}"), "/webhooks/{webhook_id}", "delete");
        var gone = await Described(user.GetAsync($"/webhooks/{webhookId}"), "/webhooks/{webhook_id}", "get");

        Assert.That((created.StatusCode, overLimit.StatusCode, deliveries.StatusCode), Is.EqualTo((HttpStatusCode.Created, HttpStatusCode.Conflict, HttpStatusCode.OK)));
        Assert.That((read.StatusCode, gone.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.NotFound)));
        Assert.That(created.Headers.Location, Is.Not.Null, "a 201 that says where the webhook is");
    }

    [Test]
    public async Task HealthAndMetricsAnswers_AreDescribed()
    {
        using var anonymous = App.CreateClient(apiKey: null);
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var live = await Described(anonymous.GetAsync("/health/live"), "/health/live", "get");
        var ready = await Described(anonymous.GetAsync("/health/ready"), "/health/ready", "get");
        var metrics = await Described(Admin.GetAsync("/metrics"), "/metrics", "get");
        var refused = await Described(user.GetAsync("/metrics"), "/metrics", "get");

        Assert.That(new[] { live.StatusCode, ready.StatusCode, metrics.StatusCode, refused.StatusCode },
            Is.EqualTo(new[] { HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Unauthorized }));
    }

    [Test]
    public async Task DeliveryAttempts_ThatGotNoAnswer_AreDescribed()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        // Nothing listens on the discard port: the attempt fails with an error and no status code, and is retried later.
        var webhookId = (await user.RegisterWebhookAsync("http://127.0.0.1:9/hooks/nobody", "job.queued")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "hi" });
        var deliveries = await user.WaitForDeliveriesAsync(webhookId, d => d.Any(x => x!["attempts"]!.AsArray().Count > 0));
        await Described(user.GetAsync($"/webhooks/{webhookId}/deliveries"), "/webhooks/{webhook_id}/deliveries", "get");

        Assert.That(deliveries[0]!["attempts"]![0]!.AsObject().ContainsKey("status_code"), Is.False);
    }

    [Test]
    public async Task ApiKeyAnswers_AreDescribed_ForLiveAndRevokedKeys()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var created = await Described(Admin.PostJsonAsync("/api_keys", new { name = "docs-" + Guid.NewGuid().ToString("N")[..8], plan = "free" }), "/api_keys", "post");
        var keyId = (await created.ReadObjectAsync()).Str("key_id");
        var read = await Described(Admin.GetAsync($"/api_keys/{keyId}"), "/api_keys/{key_id}", "get");
        await Described(Admin.PatchAsync($"/api_keys/{keyId}", JsonContent.Create(new { rate_limits = new { max_concurrent = 2 } })), "/api_keys/{key_id}", "patch");
        await Described(Admin.DeleteAsync($"/api_keys/{keyId}"), "/api_keys/{key_id}", "delete");
        var revokedPatch = await Described(Admin.PatchAsync($"/api_keys/{keyId}", JsonContent.Create(new { plan = "pro" })), "/api_keys/{key_id}", "patch");
        var listed = await Described(Admin.GetAsync("/api_keys"), "/api_keys", "get");
        var paged = await Described(Admin.GetAsync("/api_keys?limit=1&offset=1"), "/api_keys", "get");
        var badPage = await Described(Admin.GetAsync("/api_keys?limit=0"), "/api_keys", "get");
        await Described(user.GetAsync("/api_keys"), "/api_keys", "get");
        var revoked = await Described(Admin.GetAsync($"/api_keys/{keyId}"), "/api_keys/{key_id}", "get");
        var unknown = await Described(Admin.GetAsync("/api_keys/key_doesnotexist"), "/api_keys/{key_id}", "get");
        await Described(user.GetAsync($"/api_keys/{keyId}"), "/api_keys/{key_id}", "get");

        Assert.That((listed.StatusCode, revokedPatch.StatusCode), Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.Conflict)));
        Assert.That((read.StatusCode, paged.StatusCode, badPage.StatusCode, revoked.StatusCode, unknown.StatusCode),
            Is.EqualTo((HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.OK, HttpStatusCode.NotFound)));
        Assert.That(created.Headers.Location, Is.Not.Null, "a 201 that says where the key is");
    }

    [Test]
    public async Task JobAnswers_AreDescribed_FromQueuedToTheirEnd()
    {
        var key = (await App.CreateKeyAsync(plan: "pro")).ApiKey;
        using var user = App.CreateClient(key);

        var submitted = await Described(user.PostJsonAsync("/jobs/submit", new { tool = "wait", arguments = new { duration_ms = 300, steps = 3 } }), "/jobs/submit", "post");
        var jobId = (await submitted.ReadObjectAsync()).Str("job_id")!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var seen = new HashSet<string>();
        while (!seen.Contains("completed") && DateTime.UtcNow < deadline)
        {
            var polled = await Described(user.GetAsync($"/jobs/{jobId}"), "/jobs/{job_id}", "get");
            seen.Add((await polled.ReadObjectAsync()).Str("status")!);
            await Task.Delay(20);
        }
        var failed = await user.SubmitAsync("fail", new { message = "on purpose" });
        await user.WaitForFinalAsync(failed);
        await Described(user.GetAsync($"/jobs/{failed}"), "/jobs/{job_id}", "get");
        await Described(user.GetAsync("/jobs?limit=5&status=completed"), "/jobs", "get");
        await Described(user.GetAsync("/jobs?limit=500"), "/jobs", "get");
        await Described(user.GetAsync("/jobs?limit=0x10"), "/jobs", "get");
        var oversized = await Described(user.PostRawAsync("/jobs/submit", $"{{\"tool\":\"echo\",\"arguments\":{{\"message\":\"{new string('x', 1024 * 1024)}\"}}}}"), "/jobs/submit", "post");
        Assert.That(oversized.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        var idempotencyKey = $"conformance-{Guid.NewGuid():N}";
        var keyed = await Described(user.SubmitWithKeyAsync(idempotencyKey, new { tool = "echo", arguments = new { message = "once" } }), "/jobs/submit", "post");
        var replayed = await Described(user.SubmitWithKeyAsync(idempotencyKey, new { tool = "echo", arguments = new { message = "once" } }), "/jobs/submit", "post");
        var reused = await Described(user.SubmitWithKeyAsync(idempotencyKey, new { tool = "echo", arguments = new { message = "twice" } }), "/jobs/submit", "post");
        var notAKey = await Described(user.SubmitWithKeyAsync("not a key", new { tool = "echo", arguments = new { message = "once" } }), "/jobs/submit", "post");
        Assert.That((keyed.StatusCode, replayed.StatusCode, reused.StatusCode, notAKey.StatusCode),
            Is.EqualTo((HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.UnprocessableEntity, HttpStatusCode.BadRequest)));
        Assert.That(replayed.Headers.Contains("Idempotent-Replayed"), Is.True, "the replay the document's header describes");
        await Described(user.DeleteAsync($"/jobs/{jobId}?force=yes"), "/jobs/{job_id}", "delete");
        await Described(user.DeleteAsync($"/jobs/{jobId}"), "/jobs/{job_id}", "delete");
        await Described(user.GetAsync("/jobs/job_doesnotexist1"), "/jobs/{job_id}", "get");
        using var browser = App.CreateClient(apiKey: null);
        await Described(browser.GetAsync($"/jobs/{jobId}/stream?access_token={key}"), "/jobs/{job_id}/stream", "get");
        await Described(browser.GetAsync("/jobs"), "/jobs", "get");

        Assert.That(seen, Does.Contain("completed"));
    }

    [Test]
    public async Task ToolAnswers_AreDescribed_ForAnyName()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        await Described(user.GetAsync("/tools"), "/tools", "get");
        await Described(user.GetAsync("/tools/echo"), "/tools/{name}", "get");
        var blank = await Described(user.GetAsync("/tools/%20"), "/tools/{name}", "get");
        await Described(user.GetAsync("/tools/%20/metrics"), "/tools/{name}/metrics", "get");
        await Described(user.GetAsync("/tools/echo/metrics"), "/tools/{name}/metrics", "get");

        Assert.That(blank.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task ExecuteToolAnswers_AreDescribed_ForEveryOutcome()
    {
        await Described(Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "hi" } }), "/execute_tool", "post");
        await Described(Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "hi" }, mode = "async" }), "/execute_tool", "post");
        await Described(Admin.PostJsonAsync("/execute_tool", new { tool = "no_such_tool", arguments = new { } }), "/execute_tool", "post");
        await Described(Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { } }), "/execute_tool", "post");
        await Described(Admin.PostJsonAsync("/execute_tool", new { tool = "fail", arguments = new { message = "on purpose" } }), "/execute_tool", "post");
        var timedOut = await Described(
            Admin.PostJsonAsync("/execute_tool", new { tool = "wait", arguments = new { duration_ms = 5000 }, timeout_ms = 50 }), "/execute_tool", "post");
        await Described(Admin.PostRawAsync("/execute_tool", "tool=echo", "text/plain"), "/execute_tool", "post");

        Assert.That(timedOut.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
    }

    [Test]
    public async Task SubmitsOverTheRateLimit_AreDescribed_WithTheirHeaders()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "free")).ApiKey);

        // Unknown tools are refused after they are counted: a free key's ten a minute, then 429s.
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 25 && refused is null; i++)
        {
            var response = await Described(user.PostJsonAsync("/jobs/submit", new { tool = "no_such_tool", arguments = new { } }), "/jobs/submit", "post");
            refused = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.That(refused, Is.Not.Null, "a free key is limited to 10 executions a minute");
        Assert.That(refused!.Headers.Select(h => h.Key), Is.SupersetOf(new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After" }));
    }

    /// <summary>
    /// A failed tool's details are its own, of any name and type: its 500 is described even where a name is one the
    /// server types elsewhere (a limit's, as text), and its tool_code, the one field typed there, is the server's.
    /// </summary>
    [Test]
    public async Task AFailedToolsDetails_NamedAsTheServersAre_AreDescribed_ItsToolCodeTheServers()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_servers_names_failure", arguments = new { } });

        await contract.AssertDescribesAsync(response, "/execute_tool", "post");
        Assert.That((await response.ReadObjectAsync()).At("error.details")?.ToJsonString(), Is.EqualTo("""{"limit":"x","tool_code":"QUOTA_SPENT"}"""));
    }

    [Test]
    public async Task RefusalsOverAKeysOtherLimits_AreDescribed_WithTheirDetails()
    {
        // A server of this test's own, with one queued job and one stream a key: each limit is reached in a request.
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Jobs:MaxQueuedPerKey"] = "1",
            ["Streaming:MaxStreamsPerKey"] = "1",
        });
        using var user = app.CreateClient((await app.CreateKeyAsync(plan: "free")).ApiKey);
        // Only an admin key runs a tool directly; this one is given one execution at once of its own, which its job holds.
        var directKey = await app.CreateKeyAsync(admin: true);
        using var admin = app.CreateClient(directKey.ApiKey);
        (await admin.PatchAsJsonAsync($"/api_keys/{directKey.KeyId}", new { rate_limits = new { max_concurrent = 1 } })).EnsureSuccessStatusCode();
        var running = await user.SubmitAsync("wait", new { duration_ms = 60_000 });
        var holding = await admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await user.WaitForStatusAsync(running, "running");
        await admin.WaitForStatusAsync(holding, "running");
        var (stream, events) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{running}/stream");
        using var _ = stream;
        using var __ = events;
        await events.NextAsync(CancellationToken.None);

        var refusals = new[]
        {
            await Described(user.GetAsync($"/jobs/{running}/stream"), "/jobs/{job_id}/stream", "get"),
            await Described(admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "now" } }), "/execute_tool", "post"),
            await Described(user.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "parked" } }), "/jobs/submit", "post"),
            await Described(user.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "one too many" } }), "/jobs/submit", "post"),
        };
        await user.DeleteAsync($"/jobs/{running}?force=true");
        await admin.DeleteAsync($"/jobs/{holding}?force=true");

        var details = new List<string?>();
        foreach (var refusal in refusals.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests))
        {
            details.Add((await refusal.ReadObjectAsync()).At("error.details")?.AsObject().Single().Key);
        }
        Assert.That(details, Is.EqualTo(new[] { "max_streams_per_key", "max_concurrent", "max_queued" }),
            string.Join("; ", await Task.WhenAll(refusals.Select(async r => $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}"))));
    }

    private static readonly string[] RateLimitHeaders = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"];

    [Test]
    public async Task ShutdownRefusals_AreDescribed_WithoutTheHeadersOfACountedAnswer()
    {
        // A server of this test's own, since it is stopped; admin keys given a limit, so that /execute_tool's answers count too.
        // A running job keeps it draining (answering) while the refusals are asked for: an in-process host whose drain
        // is over is disposed at once, and a request to it then fails as no real client's could (Kestrel has stopped).
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["RateLimits:Admin:RequestsPerMinute"] = "100",
            ["Jobs:ShutdownTimeout"] = "00:00:03",
        });
        using var user = app.CreateClient((await app.CreateKeyAsync(plan: "pro")).ApiKey);
        using var admin = app.CreateClient((await app.CreateKeyAsync(admin: true)).ApiKey);
        var counted = await Described(user.PostJsonAsync("/jobs/submit", new { tool = "wait", arguments = new { duration_ms = 60_000 } }), "/jobs/submit", "post");
        var running = (await counted.ReadObjectAsync()).Str("job_id")!;
        await user.WaitForStatusAsync(running, "running");

        app.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var refusals = new[]
        {
            await Described(user.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "too late" } }), "/jobs/submit", "post"),
            await Described(admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "too late" } }), "/execute_tool", "post"),
            await Described(user.GetAsync($"/jobs/{running}/stream"), "/jobs/{job_id}/stream", "get"),
        };

        Assert.That(counted.Headers.Select(h => h.Key), Is.SupersetOf(RateLimitHeaders), "a counted answer carries the window");
        foreach (var refused in refusals)
        {
            var code = (await refused.ReadObjectAsync()).Str("error.code");
            Assert.Multiple(() =>
            {
                Assert.That((refused.StatusCode, code), Is.EqualTo((HttpStatusCode.ServiceUnavailable, "SERVER_SHUTTING_DOWN")));
                Assert.That(refused.Headers.Select(h => h.Key), Is.Not.SupersetOf(RateLimitHeaders).And.Not.Contains("Retry-After"), "refused before it is counted");
            });
        }
    }

    [Test]
    public async Task DatabaseUnavailable_AfterTheCount_IsDescribed_WithTheHeadersOfACountedAnswer()
    {
        var hangfire = new FailingHangfireClient();
        using var app = new AgentCorexApp();
        // Hangfire's storage failing as the job is handed over: the database went away after the request was counted.
        using var node = app.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.Decorate(hangfire)));
        using var admin = node.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AgentCorexApp.AdminKey);
        var key = (await (await admin.PostJsonAsync("/api_keys", new { name = "outage", plan = "pro" })).ReadObjectAsync()).Str("api_key");
        using var user = node.CreateClient();
        user.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

        hangfire.FailNextCreate(alongside: () => { });
        var refused = await Described(user.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "lost" } }), "/jobs/submit", "post");

        var code = (await refused.ReadObjectAsync()).Str("error.code");
        Assert.Multiple(() =>
        {
            Assert.That((refused.StatusCode, code), Is.EqualTo((HttpStatusCode.ServiceUnavailable, "DATABASE_UNAVAILABLE")));
            Assert.That(refused.Headers.Select(h => h.Key), Is.SupersetOf(RateLimitHeaders).And.Contains("Retry-After"));
        });
    }
}
