using System.Security.Cryptography;
using System.Text;
using AgentCorex.Tests.Infrastructure;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// Job events delivered to a real receiver on loopback (so private targets are allowed here), signed, retried
/// and logged. Retries start after 200 ms instead of 5 s, and an attempt times out after 1 s instead of 10 s.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookDeliveryTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:RetryBaseDelay"] = "00:00:00.2",
        ["Webhooks:AttemptTimeout"] = "00:00:01",
        ["Webhooks:MaxAttempts"] = "3",
    };

    private async Task<HttpClient> NewUserAsync() => App.CreateClient((await App.CreateKeyAsync()).ApiKey);

    [Test]
    public async Task Delivery_CarriesBothSignatures_ThatVerifyWithTheSecret()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        var webhook = await user.RegisterWebhookAsync(endpoint, "job.completed");
        var secret = webhook.Str("secret")!;
        var key = Convert.FromBase64String(secret["whsec_".Length..]); // Standard Webhooks' key: the decoded bytes

        await user.SubmitAsync("echo", new { message = "signed" });
        var request = (await Receiver.WaitForAsync(endpoint, 1)).Single();

        var id = request.Headers["webhook-id"];
        var timestamp = request.Headers["webhook-timestamp"];
        var body = Encoding.UTF8.GetBytes(request.Body);
        var expectedHex = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body)); // the secret as written
        var expectedV1 = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{timestamp}.{request.Body}")));
        Assert.Multiple(() =>
        {
            Assert.That(request.Headers["x-agentcorex-signature"], Is.EqualTo("sha256=" + expectedHex));
            Assert.That(request.Headers["webhook-signature"], Is.EqualTo("v1," + expectedV1));
            Assert.That(id, Does.Match("^msg_[a-z0-9]{12}$"));
            Assert.That(long.Parse(timestamp), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
            Assert.That(request.Headers["content-type"], Does.StartWith("application/json"));
        });
    }

    [Test]
    public async Task Delivery_NamesItsSenderInUserAgent_WhichFirewallsBeforeReceiversRequire()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.completed");

        await user.SubmitAsync("echo", new { message = "who" });
        var request = (await Receiver.WaitForAsync(endpoint, 1)).Single();

        Assert.That(request.Headers.GetValueOrDefault("user-agent"), Is.EqualTo("AgentCorex-Webhooks"));
    }

    [Test]
    public async Task Payload_IsTheContractsShape_ItsJobFollowedByGetsTimesAndFigures()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.completed");

        var jobId = await user.SubmitAsync("echo", new { message = "hello" });
        var payload = (await Receiver.WaitForAsync(endpoint, 1)).Single().Json;

        Assert.Multiple(() =>
        {
            Assert.That(payload.Select(p => p.Key), Is.EqualTo(new[] { "event", "timestamp", "job" }));
            Assert.That(payload.Str("event"), Is.EqualTo("job.completed"));
            Assert.That(payload.Str("timestamp"), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"));
            Assert.That(DateTimeOffset.Parse(payload.Str("timestamp")!), Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(payload["job"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[]
            {
                "job_id", "status", "tool", "result", "created_at", "started_at", "completed_at", "execution_time_ms", "tokens_used",
            }));
            Assert.That(payload.Str("job.job_id"), Is.EqualTo(jobId));
            Assert.That(payload.Str("job.status"), Is.EqualTo("completed"));
            Assert.That(payload.Str("job.tool"), Is.EqualTo("echo"));
            Assert.That(payload.Str("job.result.message"), Is.EqualTo("hello"));
        });
    }

    [Test]
    public async Task FailedJob_SendsJobFailed_WithTheErrorInsteadOfAResult()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.failed");

        var jobId = await user.SubmitAsync("fail", new { message = "it broke", code = "BROKEN" });
        var payload = (await Receiver.WaitForAsync(endpoint, 1)).Single().Json;

        Assert.Multiple(() =>
        {
            Assert.That(payload.Str("event"), Is.EqualTo("job.failed"));
            Assert.That(payload["job"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[]
            {
                "job_id", "status", "tool", "error", "created_at", "started_at", "completed_at", "execution_time_ms",
            }));
            Assert.That(payload.Str("job.job_id"), Is.EqualTo(jobId));
            Assert.That(payload.Str("job.status"), Is.EqualTo("failed"));
            Assert.That(payload.Str("job.error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(payload.Str("job.error.message"), Is.EqualTo("it broke"));
            Assert.That(payload.Str("job.error.details.tool_code"), Is.EqualTo("BROKEN"));
        });
    }

    [Test]
    public async Task TimedOutAndCanceledJobs_SendTheirEvents()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.timeout", "job.canceled");

        var timedOut = await user.SubmitAsync("wait", new { duration_ms = 5_000 }, timeoutMs: 100);
        var canceled = await user.SubmitAsync("wait", new { duration_ms = 10_000 });
        await user.WaitForStatusAsync(canceled, "running");
        Assert.That((await user.DeleteAsync($"/jobs/{canceled}?force=true")).IsSuccessStatusCode, Is.True);

        var received = await Receiver.WaitForAsync(endpoint, 2);
        var byJob = received.ToDictionary(r => r.Json.Str("job.job_id")!, r => r.Json);
        Assert.Multiple(() =>
        {
            Assert.That(byJob[timedOut].Str("event"), Is.EqualTo("job.timeout"));
            Assert.That(byJob[timedOut].Str("job.status"), Is.EqualTo("timeout"));
            Assert.That(byJob[timedOut].Str("job.error.code"), Is.EqualTo("EXECUTION_TIMEOUT"));
            Assert.That(byJob[canceled].Str("event"), Is.EqualTo("job.canceled"));
            Assert.That(byJob[canceled].Str("job.status"), Is.EqualTo("canceled"));
            Assert.That(byJob[canceled]["job"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "job_id", "status", "tool", "created_at", "started_at", "completed_at" }));
        });
    }

    [Test]
    public async Task OnlySubscribedEvents_AreSent()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.started", "job.completed")).Str("webhook_id")!;

        var jobId = await user.SubmitAsync("echo", new { message = "x" });
        await user.WaitForStatusAsync(jobId, "completed");
        var deliveries = await user.WaitForDeliveriesAsync(webhookId, d => d.Count == 2 && d.All(x => x.Str("status") == "delivered"));

        Assert.That(deliveries.Select(d => d.Str("event")), Is.EquivalentTo(new[] { "job.started", "job.completed" }));
        Assert.That(deliveries.Select(d => d.Str("job_id")), Is.All.EqualTo(jobId));
        Assert.That(Receiver.Received(endpoint).Select(r => r.Event), Is.EquivalentTo(new[] { "job.started", "job.completed" }));
    }

    [Test]
    public async Task AKeysWebhook_NeverSeesAnotherKeysJobs()
    {
        using var watcher = await NewUserAsync();
        using var submitter = await NewUserAsync();
        var watcherEndpoint = Receiver.NewEndpoint();
        var submitterEndpoint = Receiver.NewEndpoint();
        var watcherHook = (await watcher.RegisterWebhookAsync(watcherEndpoint)).Str("webhook_id")!;
        await submitter.RegisterWebhookAsync(submitterEndpoint);

        var jobId = await submitter.SubmitAsync("echo", new { message = "mine" });
        var seen = await Receiver.WaitForAsync(submitterEndpoint, 3);

        Assert.That(seen.Select(r => r.Event), Is.EquivalentTo(new[] { "job.queued", "job.started", "job.completed" }));
        Assert.That(seen.Select(r => r.Json.Str("job.job_id")), Is.All.EqualTo(jobId));
        Assert.That(Receiver.Received(watcherEndpoint), Is.Empty);
        var log = await (await watcher.GetAsync($"/webhooks/{watcherHook}/deliveries")).ReadObjectAsync();
        var past = await (await watcher.GetAsync($"/webhooks/{watcherHook}/deliveries?offset=3")).ReadObjectAsync();
        Assert.That(log["deliveries"]!.AsArray(), Is.Empty);
        Assert.That(past.ToJsonString(), Is.EqualTo("""{"deliveries":[],"pagination":{"limit":20,"offset":3,"total":0}}"""), "past the end");
    }

    [Test]
    public async Task DeletedWebhook_GetsNoMoreEvents()
    {
        using var user = await NewUserAsync();
        var kept = Receiver.NewEndpoint();
        var deleted = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(kept, "job.completed");
        var deletedId = (await user.RegisterWebhookAsync(deleted, "job.completed")).Str("webhook_id")!;
        await user.DeleteAsync($"/webhooks/{deletedId}");

        await user.SubmitAsync("echo", new { message = "after" });
        await Receiver.WaitForAsync(kept, 1);

        Assert.That(Receiver.Received(deleted), Is.Empty);
    }

    [Test]
    public async Task ServerError_IsRetried_ThenDelivered_WithTheSameIdAndBody()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(500));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "again" });
        var requests = await Receiver.WaitForAsync(endpoint, 2);
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        var attempts = delivery["attempts"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(delivery.Str("status"), Is.EqualTo("delivered"));
            Assert.That(attempts.Select(a => a!["attempt"]!.GetValue<int>()), Is.EqualTo(new[] { 1, 2 }));
            Assert.That(attempts.Select(a => a!["status_code"]!.GetValue<int>()), Is.EqualTo(new[] { 500, 200 }));
            Assert.That(attempts[0].Str("error"), Is.EqualTo("HTTP 500"));
            Assert.That(attempts[1]!["error"], Is.Null);
            Assert.That(attempts.Select(a => a!["duration_ms"]!.GetValue<long>()), Is.All.GreaterThanOrEqualTo(0));
            Assert.That(attempts[0]!["attempted_at"]!.GetValue<long>(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
            Assert.That(requests[1].Headers["webhook-id"], Is.EqualTo(requests[0].Headers["webhook-id"]), "one delivery, one id");
            Assert.That(requests[1].Body, Is.EqualTo(requests[0].Body), "the same bytes on every attempt");
            // Hangfire schedules to the whole second, so a 200 ms delay may end a little early or up to a second late.
            Assert.That(requests[1].At - requests[0].At, Is.GreaterThan(TimeSpan.Zero).And.LessThan(TimeSpan.FromSeconds(10)));
        });
    }

    [Test]
    public async Task EachAttemptsHangfireJob_SaysWhatTheAttemptCameTo()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(500));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "again" });
        var deliveryId = (await user.WaitForEndedDeliveryAsync(webhookId, "job.completed")).Str("delivery_id");
        // The attempt's job succeeds a moment after it has recorded the attempt.
        var monitoring = App.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        string[] results = [];
        for (var tries = 0; tries < 50 && results.Length < 2; tries++, await Task.Delay(100))
        {
            results = [.. monitoring.SucceededJobs(0, 1000)
                .Where(j => j.Value.Job?.Method.Name == "DeliverAsync" && Equals(j.Value.Job.Args[0], deliveryId))
                .OrderBy(j => j.Value.Job!.Args[1])
                .Select(j => j.Value.Result?.ToString() ?? "")];
        }

        Assert.That(results, Has.Length.EqualTo(2));
        Assert.That(results[0], Does.Match("^\"HTTP 500, now pending, attempt 2 at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\"$"));
        Assert.That(results[1], Is.EqualTo("\"status 200, now delivered\""));
    }

    [Test]
    public async Task TooManyRequests_IsRetried()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(429));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "slow down" });
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        Assert.That(delivery.Str("status"), Is.EqualTo("delivered"));
        Assert.That(delivery["attempts"]!.AsArray().Select(a => a!["status_code"]!.GetValue<int>()), Is.EqualTo(new[] { 429, 200 }));
    }

    [Test]
    public async Task Timeout_IsRetried()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(200, Delay: TimeSpan.FromSeconds(5)));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "late" });
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        var attempts = delivery["attempts"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(delivery.Str("status"), Is.EqualTo("delivered"));
            Assert.That(attempts, Has.Count.EqualTo(2));
            Assert.That(attempts[0]!["status_code"], Is.Null);
            Assert.That(attempts[0].Str("error"), Does.Contain("no response within 1000 ms"));
            Assert.That(attempts[0]!["duration_ms"]!.GetValue<long>(), Is.InRange(900, 4000));
            Assert.That(attempts[1]!["status_code"]!.GetValue<int>(), Is.EqualTo(200));
        });
    }

    [Test]
    public async Task AFailedConnection_IsLoggedWithItsCause()
    {
        using var user = await NewUserAsync();
        // HTTPS to a receiver that speaks plain HTTP: the TLS handshake fails.
        var endpoint = Receiver.NewEndpoint().Replace("http://", "https://", StringComparison.Ordinal);
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "tls" });
        var deliveries = await user.WaitForDeliveriesAsync(webhookId, d => d.Count == 1 && d[0]!["attempts"]!.AsArray().Count >= 1);

        var error = deliveries[0]!["attempts"]![0].Str("error");
        Assert.That(error, Does.StartWith("SecureConnectionError: "));
        Assert.That(error, Does.Match(@"see inner exception\. \(.+\)$"), "the inner exception's message says why");
    }

    [TestCase(429)]
    [TestCase(503)]
    public async Task RetryAfter_LongerThanTheBackoff_IsWaitedFor(int status)
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(status, RetryAfter: "5"));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "later, please" });
        var requests = await Receiver.WaitForAsync(endpoint, 2);
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        Assert.That(delivery.Str("status"), Is.EqualTo("delivered"));
        // Hangfire schedules to the whole second: up to a second early, or late. The backoff alone is 200 ms here.
        Assert.That(requests[1].At - requests[0].At, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(3.5)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task RetryAfter_IsHonouredForAnHourAtMost(bool asDate)
    {
        using var user = await NewUserAsync();
        var retryAfter = asDate ? DateTime.UtcNow.AddDays(1).ToString("R") : "86400";
        var endpoint = Receiver.NewEndpoint(new Answer(503, RetryAfter: retryAfter));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "tomorrow, please" });
        var delivery = (await user.WaitForDeliveriesAsync(webhookId, d => d.Count == 1 && d[0]!["attempts"]!.AsArray().Count == 1))[0]!;

        var attemptedAt = delivery["attempts"]![0]!["attempted_at"]!.GetValue<long>();
        Assert.That(delivery.Str("status"), Is.EqualTo("pending"));
        Assert.That(delivery["next_attempt_at"]!.GetValue<long>() - attemptedAt, Is.InRange(3590, 3610), delivery.ToJsonString());
    }

    [Test]
    public async Task Gone_DisablesTheWebhook()
    {
        using var user = await NewUserAsync();
        var gone = Receiver.NewEndpoint(new Answer(410));
        var kept = Receiver.NewEndpoint();
        var goneId = (await user.RegisterWebhookAsync(gone, "job.completed")).Str("webhook_id")!;
        await user.RegisterWebhookAsync(kept, "job.completed");

        await user.SubmitAsync("echo", new { message = "first" });
        await user.WaitForEndedDeliveryAsync(goneId, "job.completed");
        await Receiver.WaitForAsync(kept, 1);
        var second = await user.SubmitAsync("echo", new { message = "second" });
        await Receiver.WaitForAsync(kept, 2);

        var listed = (await (await user.GetAsync("/webhooks")).ReadObjectAsync())["webhooks"]!.AsArray()
            .ToDictionary(w => w.Str("webhook_id")!, w => w!["disabled_at"]);
        var log = await (await user.GetAsync($"/webhooks/{goneId}/deliveries")).ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(listed[goneId]!.GetValue<long>(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
            Assert.That(listed.Where(w => w.Key != goneId).Select(w => w.Value), Is.All.Null, "the other webhook stays enabled");
            Assert.That(Receiver.Received(gone), Has.Count.EqualTo(1));
            Assert.That(log["deliveries"]!.AsArray().Select(d => d.Str("job_id")), Has.None.EqualTo(second));
        });
    }

    [TestCase(410)]
    [TestCase(400)]
    [TestCase(401)]
    public async Task OtherClientErrors_AreNotRetried(int status)
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(status));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "gone" });
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        Assert.That(delivery.Str("status"), Is.EqualTo("failed"));
        Assert.That(delivery["attempts"]!.AsArray().Select(a => a!["status_code"]!.GetValue<int>()), Is.EqualTo(new[] { status }));
        Assert.That(delivery["next_attempt_at"], Is.Null);
        Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Redirect_IsNotFollowed()
    {
        using var user = await NewUserAsync();
        var elsewhere = Receiver.NewEndpoint();
        var endpoint = Receiver.NewEndpoint(new Answer(307, Location: elsewhere));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "moved" });
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        Assert.That(delivery.Str("status"), Is.EqualTo("failed"));
        Assert.That(delivery["attempts"]!.AsArray().Single()!["status_code"]!.GetValue<int>(), Is.EqualTo(307));
        Assert.That(Receiver.Received(elsewhere), Is.Empty);
    }

    [Test]
    public async Task Delivery_GivesUp_AfterMaxAttempts()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint(new Answer(503), new Answer(502), new Answer(500), new Answer(500));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "down" });
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        Assert.That(delivery.Str("status"), Is.EqualTo("failed"));
        Assert.That(delivery["attempts"]!.AsArray().Select(a => a!["status_code"]!.GetValue<int>()), Is.EqualTo(new[] { 503, 502, 500 }));
        Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(3), "Webhooks:MaxAttempts is 3 here");
    }
}
