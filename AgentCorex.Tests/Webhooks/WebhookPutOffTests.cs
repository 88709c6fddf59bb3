using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// A busy receiver: with 3 webhook workers a webhook has one attempt in flight at most (half of them), and the test
/// keeps one in flight (its receiver holds the answer until the test ends; the 30 s attempt timeout is far off, so
/// however late Hangfire picks the next delivery up, it finds the attempt still in flight and no room). That
/// delivery is put off without being spent, by as long again as its receiver has been at work, and not past the
/// end of its schedule.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookPutOffTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:AttemptTimeout"] = "00:00:30",
        ["Webhooks:WorkerCount"] = "3",
    };

    [Test]
    public async Task ADeliveryPutOff_PastItsSchedulesEnd_EndsNotSent()
    {
        await using var busy = await BusyWebhookAsync();

        var due = DateTime.UtcNow.AddHours(1);
        var expired = await App.AddDeliveryAsync(busy.WebhookId, DeliveryStatus.Pending, DateTime.UtcNow.AddDays(-2), nextAttemptAt: due);
        Run(expired.Id);
        await WaitForAsync(expired.Id, d => d.Status != DeliveryStatus.Pending || d.NextAttemptAt < due.AddMinutes(-1)); // its job has run
        var ended = (await busy.User.WaitForDeliveriesAsync(busy.WebhookId, d => d.Any(x => x.Str("delivery_id") == expired.Id)))
            .Single(x => x.Str("delivery_id") == expired.Id)!;

        Assert.Multiple(() =>
        {
            Assert.That(ended.Str("status"), Is.EqualTo("failed"), ended.ToJsonString());
            Assert.That(ended["attempts"]!.AsArray().Select(a => a.Str("error")), Is.EqualTo(new[]
            {
                "not sent: this node's workers for its receiver were busy, and the delivery's retry schedule has run out",
            }));
            Assert.That(Receiver.Received(busy.Endpoint).Select(r => r.Headers["webhook-id"]), Has.None.EqualTo(expired.Id));
        });
    }

    [Test]
    public async Task ADeliveryPutOff_WaitsAsLongAgainAsItsReceiverHasBeenAtWork()
    {
        await using var busy = await BusyWebhookAsync();
        // At work for longer than the put-off without its growth (1 to 1.5 s for a busy receiver).
        await Task.Delay(TimeSpan.FromSeconds(5));

        var due = DateTime.UtcNow.AddHours(1);
        var held = await App.AddDeliveryAsync(busy.WebhookId, DeliveryStatus.Pending, DateTime.UtcNow.AddHours(-1), nextAttemptAt: due);
        var ran = DateTime.UtcNow;
        Run(held.Id);
        var putOff = await WaitForAsync(held.Id, d => d.NextAttemptAt < due.AddMinutes(-1));

        Assert.Multiple(() =>
        {
            Assert.That(putOff.Delivery.Status, Is.EqualTo(DeliveryStatus.Pending));
            Assert.That(putOff.Attempts, Is.Zero, "put off, not spent");
            Assert.That(putOff.Delivery.NextAttemptAt - ran, Is.GreaterThanOrEqualTo(ran - busy.AtWorkSince),
                $"at work since {busy.AtWorkSince:O} at the latest; ran at {ran:O}, put off to {putOff.Delivery.NextAttemptAt:O}");
        });
    }

    /// <summary>
    /// A webhook with an attempt in flight, which its receiver holds unanswered until this is disposed: the
    /// webhook's one attempt at a time, since the receiver received it (<see cref="Busy.AtWorkSince"/>) at the latest.
    /// </summary>
    private async Task<Busy> BusyWebhookAsync()
    {
        var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var endpoint = Receiver.NewEndpoint(new Answer(200, HeldUntil: release.Task));
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;
        var inFlight = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow, nextAttemptAt: DateTime.UtcNow.AddHours(1));
        Run(inFlight.Id);
        var received = await Receiver.WaitForAsync(endpoint, 1);
        return new Busy(user, endpoint, webhookId, received[0].At, release);
    }

    private sealed record Busy(HttpClient User, string Endpoint, string WebhookId, DateTime AtWorkSince, TaskCompletionSource Release) : IAsyncDisposable
    {
        /// <summary>The receiver answers the attempt in flight, which frees its worker for the next test.</summary>
        public ValueTask DisposeAsync()
        {
            Release.TrySetResult();
            User.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Its first attempt now, as a job's event would start it (each delivery is seeded due in an hour, out of the sweep's way).</summary>
    private void Run(string deliveryId) => WebhookDispatcher.Enqueue(App.Services.GetRequiredService<IBackgroundJobClient>(), deliveryId);

    private async Task<(WebhookDelivery Delivery, int Attempts)> WaitForAsync(string deliveryId, Func<WebhookDelivery, bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
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
