using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// Dead receivers (they accept and never answer) beside a healthy one, with 6 webhook workers and a 3 s attempt
/// timeout: once the dead ones are known, they hold at most half the workers, so the healthy one's events
/// still arrive at once.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookIsolationTests(TestStorage storage) : WebhookServerTest(storage)
{
    private const int DeadReceivers = 6;
    private static readonly string[] JobEvents = ["job.queued", "job.started", "job.completed"];

    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:WorkerCount"] = "6",
        ["Webhooks:AttemptTimeout"] = "00:00:03",
        ["Webhooks:RetryBaseDelay"] = "00:00:00.2",
    };

    [Test]
    public async Task HealthyReceiver_GetsItsEventsPromptly_WhileDeadReceiversHang()
    {
        using var silent = SilentReceiver.Start();
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var dead = new List<string>();
        for (var i = 0; i < DeadReceivers; i++)
        {
            dead.Add((await user.RegisterWebhookAsync(silent.Url($"hooks/dead{i}"), JobEvents)).Str("webhook_id")!);
        }
        for (var i = 0; i < 2; i++)
        {
            await user.SubmitAsync("echo", new { message = "into the void" });
        }
        // 36 deliveries to dead receivers, 6 attempt-timeouts' worth of all 6 workers. Each receiver has now
        // been seen not to answer.
        foreach (var webhookId in dead)
        {
            await user.WaitForDeliveriesAsync(webhookId, d => d.Any(x => x!["attempts"]!.AsArray().Any(a => a!.Str("error")?.StartsWith("no response") == true)), TimeSpan.FromSeconds(60));
        }

        var healthy = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(healthy, JobEvents);
        var submitted = DateTime.UtcNow;
        var jobId = await user.SubmitAsync("echo", new { message = "alive" });
        var received = await Receiver.WaitForAsync(healthy, 3, TimeSpan.FromSeconds(30));

        var arrivals = string.Join(", ", received.Select(r => $"{r.Event} after {(r.At - submitted).TotalMilliseconds:0} ms"));
        Assert.That(received.Select(r => r.Json.Str("job.job_id")), Is.All.EqualTo(jobId));
        Assert.That(received.Max(r => r.At) - submitted, Is.LessThan(TimeSpan.FromSeconds(2)), arrivals);
        await WaitUntilAsync(() => silent.AcceptedSince(submitted) > 0, "the dead receivers are still being tried");
        var pendingForTheDead = 0;
        foreach (var webhookId in dead)
        {
            var deliveries = await user.WaitForDeliveriesAsync(webhookId, _ => true);
            pendingForTheDead += deliveries.Count(d => d.Str("status") == "pending");
        }
        Assert.That(pendingForTheDead, Is.GreaterThan(0), "the dead receivers still had deliveries waiting");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not in time: {what}");
            }
            await Task.Delay(20);
        }
    }
}
