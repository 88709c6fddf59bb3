using System.Net;
using System.Text.Json.Nodes;

namespace AgentCorex.Tests.Infrastructure;

public static class Webhooks
{
    public static readonly string[] AllEvents = ["job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout"];

    public static async Task<JsonObject> RegisterWebhookAsync(this HttpClient client, string url, params string[] events)
    {
        var response = await client.PostJsonAsync("/webhooks", new { url, events = events.Length == 0 ? AllEvents : events });
        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), body.ToJsonString());
        return body;
    }

    /// <summary>Polls the webhook's delivery log until it satisfies the condition, failing after the deadline.</summary>
    public static async Task<JsonArray> WaitForDeliveriesAsync(this HttpClient client, string webhookId, Func<JsonArray, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var response = await client.GetAsync($"/webhooks/{webhookId}/deliveries?limit=100");
            var body = await response.ReadObjectAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
            var deliveries = body["deliveries"]!.AsArray();
            if (condition(deliveries))
            {
                return deliveries;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the deliveries of {webhookId} did not reach the expected state in time; last seen: {deliveries.ToJsonString()}");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the delivery of this event has ended (delivered or failed) and returns it.</summary>
    public static async Task<JsonNode> WaitForEndedDeliveryAsync(this HttpClient client, string webhookId, string eventName, TimeSpan? within = null)
    {
        var deliveries = await client.WaitForDeliveriesAsync(
            webhookId, d => d.Any(x => x.Str("event") == eventName && x.Str("status") is "delivered" or "failed"), within);
        return deliveries.Single(x => x.Str("event") == eventName)!;
    }
}
