using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// Which connections deliveries go over: one of its own for each to a receiver that closes a connection after
/// answering on it (HTTP/1.0), one kept open for many to a receiver that keeps connections (HTTP/1.1).
/// </summary>
public sealed class WebhookConnectionTests() : WebhookServerTest(TestStorage.Embedded)
{
    private static readonly string[] JobEvents = ["job.queued", "job.started", "job.completed"];

    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>();

    /// <remarks>
    /// "HTTP/1.1" is a receiver that closes idle connections at once without saying so, as one whose keep-alive
    /// timeout has just run out does: a request written onto such a connection goes again on a new one.
    /// </remarks>
    [TestCase("HTTP/1.0")]
    [TestCase("HTTP/1.1")]
    public async Task ReceiverClosingEachConnection_GetsEveryDelivery_OnTheFirstAttempt(string protocol)
    {
        const int jobs = 10;
        using var receiver = ClosingReceiver.Start(protocol);
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var webhookId = (await user.RegisterWebhookAsync(receiver.Url("hooks/closing"), JobEvents)).Str("webhook_id")!;

        for (var i = 0; i < jobs; i++)
        {
            await user.SubmitAsync("echo", new { message = $"burst {i}" });
        }
        var deliveries = await user.WaitForDeliveriesAsync(
            webhookId, d => d.Count == jobs * JobEvents.Length && d.All(x => Attempts(x).Count > 0), TimeSpan.FromSeconds(30));

        var errors = deliveries.SelectMany(Attempts).Select(a => a.Str("error")).OfType<string>()
            .GroupBy(e => e).Select(g => $"{g.Count()} x {g.Key}");
        Assert.Multiple(() =>
        {
            Assert.That(errors, Is.Empty, "no attempt failed or was held back");
            Assert.That(deliveries.Select(d => Attempts(d).Count), Is.All.EqualTo(1));
            Assert.That(deliveries.Select(d => d.Str("status")), Is.All.EqualTo("delivered"));
            Assert.That(receiver.Received.Select(r => r.Headers["webhook-id"]), Is.EquivalentTo(deliveries.Select(d => d.Str("delivery_id"))));
        });
        if (protocol == "HTTP/1.0")
        {
            Assert.That(receiver.Ignored, Is.Zero, "no request was written onto a connection the receiver had answered on");
        }
    }

    [Test]
    public async Task KeepAliveReceiver_GetsDeliveriesOverAConnectionItKeeps()
    {
        const int jobs = 5;
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.completed");

        for (var i = 1; i <= jobs; i++)
        {
            await user.SubmitAsync("echo", new { message = $"one of {jobs}" });
            await Receiver.WaitForAsync(endpoint, i);
        }

        var connections = Receiver.Received(endpoint).Select(r => r.Connection).Distinct().Count();
        Assert.That(connections, Is.LessThan(jobs), "connections were reused");
    }

    private static JsonArray Attempts(JsonNode? delivery) => delivery!["attempts"]!.AsArray();
}
