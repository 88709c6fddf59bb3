using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Query;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// An attempt that throws before anything is sent must still come to an end the delivery log shows, rather than
/// fail its Hangfire job and be enqueued again by the sweep for ever, the delivery pending with no attempt: a
/// secret Data Protection cannot unprotect (as after a lost key ring) fails it at once, as nothing can sign it;
/// any other fault of the server's (here a stored URL HttpClient refuses) is an attempt spent, retried on the
/// schedule. The sweep runs every 200 ms here and repairs what is 1 s past due (8 s give it time to, over and
/// over); a delivery has 2 attempts, 100 ms apart.
/// </summary>
[TestFixture(TestStorage.Embedded)]
public sealed class WebhookUnreadableSecretTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:SweepInterval"] = "00:00:00.2",
        ["Webhooks:RepairGrace"] = "00:00:01",
        ["Webhooks:MaxAttempts"] = "2",
        ["Webhooks:RetryBaseDelay"] = "00:00:00.1",
    };

    [Test]
    public async Task Delivery_WhoseSecretCannotBeRead_FailsAtOnce_SayingWhy()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        await DamageAsync(webhookId, s => s.SetProperty(w => w.ProtectedSecret, "not-a-protected-payload"));

        var delivery = await CompletedDeliveryAsync(user, webhookId);

        Assert.That(Receiver.Received(endpoint), Is.Empty, "nothing can be signed");
        Assert.That(delivery.Str("status"), Is.EqualTo("failed"));
        var attempts = delivery["attempts"]!.AsArray();
        Assert.That(attempts, Has.Count.EqualTo(1), "not retried: it cannot be signed later either");
        Assert.That(attempts[0]!.Str("error"), Is.EqualTo("not sent: " + WebhookSender.UnreadableSecret));
    }

    [Test]
    public async Task Delivery_WhoseAttemptTheServerFailsToMake_IsRetriedOnTheSchedule_ThenFails()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        await DamageAsync(webhookId, s => s.SetProperty(w => w.Url, "not a url"));

        var delivery = await CompletedDeliveryAsync(user, webhookId);

        Assert.That(Receiver.Received(endpoint), Is.Empty);
        Assert.That(delivery.Str("status"), Is.EqualTo("failed"));
        var attempts = delivery["attempts"]!.AsArray();
        Assert.That(attempts.Select(a => a!.Str("error")), Is.EqualTo(Enumerable.Repeat(
            "the server failed in making the attempt (InvalidOperationException; its log says why)", 2)), "a fault that may pass is retried");
    }

    private async Task<(HttpClient User, string Endpoint, string WebhookId)> NewWebhookAsync()
    {
        var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var endpoint = Receiver.NewEndpoint();
        return (user, endpoint, (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!);
    }

    private async Task DamageAsync(string webhookId, Action<UpdateSettersBuilder<Webhook>> damage)
    {
        await using var scope = App.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Webhooks.Where(w => w.Id == webhookId).ExecuteUpdateAsync(damage);
    }

    /// <summary>The job.completed delivery of a new job of the user's, once it has ended: never, when the sweep only runs it again.</summary>
    private static async Task<JsonNode> CompletedDeliveryAsync(HttpClient user, string webhookId)
    {
        var jobId = await user.SubmitAsync("echo", new { message = "hi" });
        await user.WaitForJobAsync(jobId, j => j.Str("status") == "completed");
        return await user.WaitForEndedDeliveryAsync(webhookId, "job.completed", TimeSpan.FromSeconds(8));
    }
}
