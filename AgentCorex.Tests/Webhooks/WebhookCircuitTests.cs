using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// A receiver that stops answering for a moment, then answers, with 2 attempts per delivery: retries due while its
/// circuit is open wait for it instead of using the delivery's last attempt up unsent. A 5 s attempt timeout, and
/// 1 s before the first retry, which is also how long the circuit first opens (doubling at each unanswered attempt).
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookCircuitTests(TestStorage storage) : WebhookServerTest(storage)
{
    private static readonly Answer Unanswered = new(200, Delay: TimeSpan.FromSeconds(30));

    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:RetryBaseDelay"] = "00:00:01",
        ["Webhooks:AttemptTimeout"] = "00:00:05",
        ["Webhooks:MaxAttempts"] = "2",
    };

    [Test]
    public async Task RetriesDueWhileTheCircuitIsOpen_WaitForIt_ThenAreReallyMade_EachDeliveryArrivingOnItsLastAttempt()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        // The three events' first attempts go out at once and all time out: the circuit opens for 1, 2, then 4 s,
        // so their retries, due 1 s after, find it open. Then the receiver answers.
        var endpoint = Receiver.NewEndpoint(Unanswered, Unanswered, Unanswered);
        var webhookId = (await user.RegisterWebhookAsync(endpoint, "job.queued", "job.started", "job.completed")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "back soon" });
        var deliveries = await user.WaitForDeliveriesAsync(
            webhookId, d => d.Count == 3 && d.All(x => x.Str("status") != "pending"), TimeSpan.FromSeconds(60));

        Assert.Multiple(() =>
        {
            foreach (var delivery in deliveries)
            {
                var attempts = delivery!["attempts"]!.AsArray();
                Assert.That(delivery.Str("status"), Is.EqualTo("delivered"), delivery.ToJsonString());
                Assert.That(attempts.Select(a => a!["attempt"]!.GetValue<int>()), Is.EqualTo(new[] { 1, 2 }), delivery.ToJsonString());
                Assert.That(attempts[0].Str("error"), Is.EqualTo("no response within 5000 ms"));
                Assert.That(attempts[1]!["status_code"]?.GetValue<int>(), Is.EqualTo(200));
            }
            Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(6), "two real attempts per delivery, as Webhooks:MaxAttempts says");
        });
    }
}
