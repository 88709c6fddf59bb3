using System.Net;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>With Network:AllowPrivateTargets off (the default), webhooks cannot point into the server's own network.</summary>
public sealed class WebhookTargetTests() : ServerTest(TestStorage.Embedded)
{
    // Retries after 200 ms instead of 5 s, so that a test sees a delivery retried.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Webhooks:RetryBaseDelay"] = "00:00:00.2" };

    [TestCase("http://127.0.0.1/hook")]
    [TestCase("http://127.1.2.3:8080/hook")]
    [TestCase("http://10.0.0.1/hook")]
    [TestCase("http://172.16.5.4/hook")]
    [TestCase("http://192.168.1.1/hook")]
    [TestCase("http://169.254.169.254/latest/meta-data/")]
    [TestCase("http://0.0.0.0/hook")]
    [TestCase("http://[::1]/hook")]
    [TestCase("http://[::ffff:127.0.0.1]/hook")]
    [TestCase("http://[::ffff:169.254.169.254]/hook")]
    [TestCase("http://[fd00:ec2::254]/latest/meta-data/")]
    [TestCase("http://[fe80::1]/hook")]
    [TestCase("http://[::ffff:0:7f00:1]/hook")]
    [TestCase("http://[64:ff9b::7f00:1]/hook")]
    [TestCase("http://[2002:a9fe:a9fe::1]/hook")]
    [TestCase("http://100.64.0.1/hook")]
    [TestCase("http://localhost:5080/hook")]
    public async Task Register_RefusesAUrlResolvingToAPrivateAddress(string url)
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await user.PostJsonAsync("/webhooks", new { url, events = new[] { "job.completed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo("url"));
        Assert.That(body.Str("error.message"), Does.Contain("may not reach"));
    }

    [Test]
    public async Task Register_AcceptsAPublicAddress()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://93.184.215.14/hook", events = new[] { "job.completed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
    }

    /// <summary>
    /// A receiver registered before its DNS record exists: the check at each connection protects as well, so
    /// registration does not refuse it, and its deliveries fail as a connection does, retried, saying why.
    /// .invalid is reserved (RFC 2606): it never resolves.
    /// </summary>
    [Test]
    public async Task Register_AcceptsAHostThatDoesNotResolveYet_WhoseDeliveriesSaySoAndAreRetried()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://receiver-not-yet.invalid/hook", events = new[] { "job.completed" } });
        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());

        await user.SubmitAsync("echo", new { message = "nobody there yet" });
        // An attempt due while the receiver's circuit is open waits for it: each one listed went as far as DNS.
        static IEnumerable<JsonNode> Made(JsonNode delivery) => delivery["attempts"]!.AsArray().Select(a => a!);
        var deliveries = await user.WaitForDeliveriesAsync(body.Str("webhook_id")!, d => d.Count == 1 && Made(d[0]!).Count() >= 2);

        var errors = Made(deliveries[0]!).Select(a => a.Str("error")).ToList();
        Assert.That(Made(deliveries[0]!).Select(a => a["status_code"]), Is.All.Null);
        Assert.That(errors, Is.All.StartsWith("NameResolutionError: receiver-not-yet.invalid did not resolve ("));
        Assert.That(errors, Is.All.Not.Contain(":443").And.Not.Contain(" at "), "the host once, no port, no stack trace");
    }

    /// <summary>A host that was public at registration and resolves to loopback later (DNS changed) is refused at delivery.</summary>
    [Test]
    public async Task Delivery_IsRefused_WhenTheUrlNowResolvesToAPrivateAddress()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var endpoint = receiver.NewEndpoint();
        var key = await App.CreateKeyAsync();
        using var user = App.CreateClient(key.ApiKey);
        // Stored directly, as registration would have stored it before the name moved to a private address.
        var webhookId = "wh_" + Guid.NewGuid().ToString("N")[..12];
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            db.Webhooks.Add(new Webhook
            {
                Id = webhookId,
                OwnerKeyId = key.KeyId,
                Url = endpoint,
                Events = "job.completed",
                ProtectedSecret = scope.ServiceProvider.GetRequiredService<WebhookSecrets>().Protect(WebhookSecrets.Generate()),
                CreatedAt = DateTime.UtcNow,
            });
            await db.SaveChangesAsync();
        }

        await user.SubmitAsync("echo", new { message = "refused" });
        var delivery = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        var attempt = delivery["attempts"]!.AsArray().Single()!;
        Assert.That(delivery.Str("status"), Is.EqualTo("failed"), "a refused address is not retried");
        Assert.That(attempt["status_code"], Is.Null);
        Assert.That(attempt.Str("error"), Does.Contain("127.0.0.1").And.Contain("may not reach"));
        Assert.That(receiver.Received(endpoint), Is.Empty);
    }
}
