using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// The delivery rows are the outbox: what a crash leaves of them (a row without its Hangfire job, an attempt
/// run twice) still ends in one delivery, and the log is pruned. The sweep runs every 200 ms here and repairs
/// what is 1 s past due.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookOutboxTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:SweepInterval"] = "00:00:00.2",
        ["Webhooks:RepairGrace"] = "00:00:01",
    };

    private async Task<(HttpClient User, string Endpoint, string WebhookId)> NewWebhookAsync(params Answer[] answers)
    {
        var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var endpoint = Receiver.NewEndpoint(answers);
        return (user, endpoint, (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!);
    }

    [Test]
    public async Task PendingDelivery_WithoutItsJob_IsDeliveredByTheSweep_ButNotOneInFlight()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        var now = DateTime.UtcNow;
        var lost = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, now.AddMinutes(-5));
        var inFlight = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, now.AddMinutes(-5), inFlightUntil: now.AddMinutes(10));

        Assert.That((await Receiver.WaitForAsync(endpoint, 1)).Single().Headers["webhook-id"], Is.EqualTo(lost.Id));
        var later = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow.AddMinutes(-1));
        var received = await Receiver.WaitForAsync(endpoint, 2);

        Assert.That(received.Select(r => r.Headers["webhook-id"]), Is.EqualTo(new[] { lost.Id, later.Id }), "several sweeps later, the one in flight is left to its attempt");
        var (delivered, attempts) = await App.FindDeliveryAsync(lost.Id);
        Assert.That(delivered!.Status, Is.EqualTo(DeliveryStatus.Delivered));
        Assert.That(attempts, Is.EqualTo(1));
        Assert.That((await App.FindDeliveryAsync(inFlight.Id)).Attempts, Is.Zero);
    }

    [Test]
    public async Task TwoRunsOfOneAttempt_SendItOnce()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync(new Answer(200, Delay: TimeSpan.FromMilliseconds(500)));
        using var _ = user;
        // Not yet due for the sweep: only the two runs below send it.
        var delivery = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow, nextAttemptAt: DateTime.UtcNow.AddHours(1));

        // As a repair pass racing a late job, or Hangfire running a job again, would run it.
        var hangfire = App.Services.GetRequiredService<IBackgroundJobClient>();
        var runs = new[] { WebhookDispatcher.Enqueue(hangfire, delivery.Id), WebhookDispatcher.Enqueue(hangfire, delivery.Id) };
        await App.WaitForHangfireJobsAsync(runs, "Succeeded");

        Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(1));
        var (stored, attempts) = await App.FindDeliveryAsync(delivery.Id);
        Assert.That(stored!.Status, Is.EqualTo(DeliveryStatus.Delivered));
        Assert.That(attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task EndedDeliveries_OlderThanTheRetention_AreDeleted_WithTheirAttempts()
    {
        var (user, _, webhookId) = await NewWebhookAsync();
        using var __ = user;
        var now = DateTime.UtcNow;
        var oldDelivered = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Delivered, now.AddDays(-8), attempts: 2);
        var oldFailed = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Failed, now.AddDays(-7.1), attempts: 1);
        var recent = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Delivered, now.AddDays(-6.9), attempts: 1);

        await user.WaitForDeliveriesAsync(webhookId, d => d.Count == 1);

        Assert.That(await App.FindDeliveryAsync(oldDelivered.Id), Is.EqualTo(((WebhookDelivery?)null, 0)), "the attempts go with their delivery");
        Assert.That(await App.FindDeliveryAsync(oldFailed.Id), Is.EqualTo(((WebhookDelivery?)null, 0)));
        Assert.That((await App.FindDeliveryAsync(recent.Id)).Attempts, Is.EqualTo(1), "kept: within the default 7 days");
    }
}
