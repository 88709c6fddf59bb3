using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// An attempt that throws before anything is sent (here a secret Data Protection cannot unprotect, as after a lost
/// key ring) must still come to an end the delivery log shows: today it records nothing, its Hangfire job fails, and
/// the sweep enqueues it again every Webhooks:RepairGrace for ever, the delivery pending with no attempt.
/// The sweep runs every 200 ms here and repairs what is 1 s past due.
/// </summary>
[TestFixture(TestStorage.Embedded)]
public sealed class WebhookUnreadableSecretTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:SweepInterval"] = "00:00:00.2",
        ["Webhooks:RepairGrace"] = "00:00:01",
    };

    [Test]
    public async Task Delivery_WhoseAttemptThrowsBeforeSending_RecordsAnAttempt_RatherThanStayingPendingUnseen()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var endpoint = Receiver.NewEndpoint();
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;
        await using (var scope = App.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Webhooks.Where(w => w.Id == webhookId)
                .ExecuteUpdateAsync(s => s.SetProperty(w => w.ProtectedSecret, "not-a-protected-payload"));
        }

        var jobId = await user.SubmitAsync("echo", new { message = "hi" });
        await user.WaitForJobAsync(jobId, j => j.Str("status") == "completed");

        // Several sweeps' worth of repairs: each runs the attempt again, and each throws the same.
        var deliveries = await user.WaitForDeliveriesAsync(
            webhookId, d => d.Any(x => x.Str("event") == "job.completed" && x!["attempts"]!.AsArray().Count > 0), TimeSpan.FromSeconds(8));
        Assert.That(Receiver.Received(endpoint), Is.Empty, "nothing can be signed");
        Assert.That(deliveries.Single()!["attempts"]![0]!.Str("error"), Is.Not.Null.And.Not.Empty, "the log says why nothing was sent");
    }
}
