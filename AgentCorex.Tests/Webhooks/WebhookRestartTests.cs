using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// On the embedded executor Hangfire forgets scheduled retries on restart; the pending delivery in the database
/// is scheduled again, so the event still arrives, with the same id and body.
/// </summary>
[NonParallelizable]
public sealed class WebhookRestartTests
{
    [Test]
    public async Task PendingRetry_SurvivesARestart()
    {
        using var folder = TempFolder.Create("agentcorex-webhook-restart-");
        var data = folder.Path;
        await using var receiver = await WebhookReceiver.StartAsync();
        var endpoint = receiver.NewEndpoint(new Answer(503));
        var settings = new Dictionary<string, string?>
        {
            ["Network:AllowPrivateTargets"] = "true",
            ["Webhooks:RetryBaseDelay"] = "00:00:03",
        };
        string webhookId, apiKey;
        using (var first = new AgentCorexApp(settings, data))
        {
            apiKey = (await first.CreateKeyAsync()).ApiKey;
            using var client = first.CreateClient(apiKey);
            webhookId = (await client.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;
            await client.SubmitAsync("echo", new { message = "survives" });
            await client.WaitForDeliveriesAsync(webhookId, d => d.Count == 1 && d[0]!["attempts"]!.AsArray().Count == 1);
        }
        await AgentCorexApp.LetGoOfDatabaseAsync(data);

        using var second = new AgentCorexApp(settings, data);
        using var again = second.CreateClient(apiKey);
        var delivery = await again.WaitForEndedDeliveryAsync(webhookId, "job.completed");

        var requests = receiver.Received(endpoint);
        Assert.That(delivery.Str("status"), Is.EqualTo("delivered"));
        Assert.That(delivery["attempts"]!.AsArray().Select(a => a!["status_code"]!.GetValue<int>()), Is.EqualTo(new[] { 503, 200 }));
        Assert.That(requests.Select(r => r.Headers["webhook-id"]).Distinct().Count(), Is.EqualTo(1));
        Assert.That(requests.Select(r => r.Body).Distinct().Count(), Is.EqualTo(1));
    }
}
