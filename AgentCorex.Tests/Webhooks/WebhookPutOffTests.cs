using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// A slow receiver (its first answer takes 3 s of a 5 s attempt timeout) with an attempt in flight (one it never
/// answers): a delivery due meanwhile finds no room, and is put off without being spent, by as long again as its
/// receiver has been slow, and not past the end of its schedule.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookPutOffTests(TestStorage storage) : WebhookServerTest(storage)
{
    private static readonly Answer Slow = new(200, Delay: TimeSpan.FromSeconds(3));
    private static readonly Answer Unanswered = new(200, Delay: TimeSpan.FromSeconds(30));

    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:AttemptTimeout"] = "00:00:05",
    };

    [Test]
    public async Task ADeliveryPutOff_PastItsSchedulesEnd_EndsNotSent()
    {
        var (user, endpoint, webhookId) = await SlowWebhookAsync();
        using var _ = user;
        await InFlightAsync(webhookId, endpoint);

        var expired = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow.AddDays(-2), nextAttemptAt: DateTime.UtcNow.AddHours(1));
        Run(expired.Id);
        var ended = (await user.WaitForDeliveriesAsync(webhookId, d => d.Any(x => x.Str("delivery_id") == expired.Id && x.Str("status") != "pending"), TimeSpan.FromSeconds(4)))
            .Single(x => x.Str("delivery_id") == expired.Id)!;

        Assert.Multiple(() =>
        {
            Assert.That(ended.Str("status"), Is.EqualTo("failed"), ended.ToJsonString());
            Assert.That(ended["attempts"]!.AsArray().Select(a => a.Str("error")), Is.EqualTo(new[]
            {
                "not sent: this node's workers for its receiver were busy, and the delivery's retry schedule has run out",
            }));
            Assert.That(Receiver.Received(endpoint).Select(r => r.Headers["webhook-id"]), Has.None.EqualTo(expired.Id));
        });
    }

    [Test]
    public async Task ADeliveryPutOff_WaitsAsLongAgainAsItsReceiverHasBeenSlow()
    {
        var (user, endpoint, webhookId) = await SlowWebhookAsync();
        using var _ = user;
        var slowBy = DateTime.UtcNow;
        // Slow for longer than the attempt in flight takes (5 s, put-offs of 5 to 7.5 s without their growth).
        await Task.Delay(TimeSpan.FromSeconds(11));
        await InFlightAsync(webhookId, endpoint);

        var due = DateTime.UtcNow.AddHours(1);
        var held = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow.AddHours(-1), nextAttemptAt: due);
        var ran = DateTime.UtcNow;
        Run(held.Id);
        var putOff = await WaitForAsync(held.Id, d => d.NextAttemptAt < due.AddMinutes(-1));

        Assert.Multiple(() =>
        {
            Assert.That(putOff.Delivery.Status, Is.EqualTo(DeliveryStatus.Pending));
            Assert.That(putOff.Attempts, Is.Zero, "put off, not spent");
            Assert.That(putOff.Delivery.NextAttemptAt - ran, Is.GreaterThanOrEqualTo(ran - slowBy - TimeSpan.FromSeconds(1)),
                $"slow since {slowBy:O} at the latest; ran at {ran:O}, put off to {putOff.Delivery.NextAttemptAt:O}");
        });
    }

    /// <summary>A webhook whose receiver has answered a first delivery, slowly: this node now takes it for slow.</summary>
    private async Task<(HttpClient User, string Endpoint, string WebhookId)> SlowWebhookAsync()
    {
        var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var endpoint = Receiver.NewEndpoint(Slow, Unanswered);
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;
        var first = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow, nextAttemptAt: DateTime.UtcNow.AddHours(1));
        Run(first.Id);
        await WaitForAsync(first.Id, d => d.Status == DeliveryStatus.Delivered);
        return (user, endpoint, webhookId);
    }

    /// <summary>Starts a second delivery, which its receiver never answers: its one attempt is in flight for 5 s.</summary>
    private async Task InFlightAsync(string webhookId, string endpoint)
    {
        var second = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow, nextAttemptAt: DateTime.UtcNow.AddHours(1));
        Run(second.Id);
        await Receiver.WaitForAsync(endpoint, 2);
    }

    /// <summary>Its first attempt now, as a job's event would start it (each delivery is seeded due in an hour, out of the sweep's way).</summary>
    private void Run(string deliveryId) => WebhookDispatcher.Enqueue(App.Services.GetRequiredService<IBackgroundJobClient>(), deliveryId);

    private async Task<(WebhookDelivery Delivery, int Attempts)> WaitForAsync(string deliveryId, Func<WebhookDelivery, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var found = await App.FindDeliveryAsync(deliveryId);
            if (found.Delivery is { } delivery && condition(delivery))
            {
                return (delivery, found.Attempts);
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"delivery {deliveryId} did not reach the expected state in time: {found.Delivery?.Status}, next attempt at {found.Delivery?.NextAttemptAt:O}");
            }
            await Task.Delay(20);
        }
    }
}
