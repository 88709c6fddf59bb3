using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>With Network:AllowPrivateTargets off (the default), webhooks cannot point into the server's own network.</summary>
public sealed class WebhookTargetTests() : ServerTest(TestStorage.Embedded)
{
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
