using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// Logging:Format=json on a real process, its console read as a log shipper would: one JSON object a line, the
/// lines about a job with job_id, tool and key_id among their scopes, and no key or secret anywhere.
/// </summary>
[NonParallelizable]
public sealed partial class JsonLogTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-jsonlog-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task JsonLog_IsOneObjectALine_WithTheJobsFieldsOnItsLines_AndNoSecret()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var settings = new Dictionary<string, string>
        {
            ["Logging:Format"] = "json",
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:AgentCorex"] = "Debug",
            ["Network:AllowPrivateTargets"] = "true",
        };
        string output, apiKey, keyId, secret, echo, thrown;
        await using (var server = await ServerProcess.StartAsync(data, settings))
        {
            using var admin = server.CreateClient();
            var key = await (await admin.PostAsJsonAsync("/api_keys", new { name = "json-logged", plan = "enterprise" })).ReadObjectAsync();
            (apiKey, keyId) = (key.Str("api_key")!, key.Str("key_id")!);
            using var user = server.CreateClient(apiKey);
            var webhook = await user.RegisterWebhookAsync(receiver.NewEndpoint(), "job.completed");
            secret = webhook.Str("secret")!;

            echo = await user.SubmitAsync("echo", new { message = "shipped" });
            thrown = await user.SubmitAsync("test_throw", new { message = "boom, shipped" });
            await user.WaitForFinalAsync(echo);
            await user.WaitForFinalAsync(thrown);
            await user.WaitForEndedDeliveryAsync(webhook.Str("webhook_id")!, "job.completed");
            // An EventSource client's key in the query string must not reach the log either.
            using var browser = new HttpClient { BaseAddress = server.BaseAddress };
            await browser.GetStringAsync($"/jobs/{echo}/stream?access_token={Uri.EscapeDataString(apiKey)}");

            await server.StopAsync();
            output = server.Output;
        }

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var entries = lines.Select(Parse).ToList();
        Assert.That(entries.Where(e => e.Json is null).Select(e => e.Line), Is.Empty, "lines that are not a JSON log entry");

        var logged = entries.Select(e => e.Json!).ToList();
        Assert.Multiple(() =>
        {
            foreach (var (jobId, tool) in new[] { (echo, "echo"), (thrown, "test_throw") })
            {
                var about = logged.Where(e => e.Str("Message")!.Contains(jobId, StringComparison.Ordinal)).ToList();
                Assert.That(about, Is.Not.Empty, jobId);
                Assert.That(about.Where(e => !HasJobScope(e, jobId, tool, keyId)).Select(e => e.ToJsonString()), Is.Empty, $"lines about {jobId} without its fields");
            }
            Assert.That(logged, Has.Some.Matches<JsonObject>(e =>
                e.Str("Category") == "AgentCorex.Web.Jobs.ToolJob" && e.Str("Message") == $"Job {echo} started, attempt 1" && HasJobScope(e, echo, "echo", keyId)));
            Assert.That(logged, Has.Some.Matches<JsonObject>(e =>
                e.Str("Category") == "AgentCorex.Web.Execution.ToolRunner" && e.Str("LogLevel") == "Warning" && HasJobScope(e, thrown, "test_throw", keyId)));
            Assert.That(logged, Has.Some.Matches<JsonObject>(e =>
                e.Str("Category") == "AgentCorex.Web.Webhooks.WebhookDispatcher" && HasJobScope(e, echo, "echo", keyId)));

            Assert.That(lines.Where(l => Secret().IsMatch(l)), Is.Empty, "a key or a webhook secret");
            Assert.That(lines.Where(l => l.Contains(apiKey.Split('_')[2], StringComparison.Ordinal)
                || l.Contains(secret["whsec_".Length..], StringComparison.Ordinal)
                || l.Contains(AgentCorexApp.AdminKey, StringComparison.Ordinal)), Is.Empty);
        });
    }

    private static bool HasJobScope(JsonObject entry, string jobId, string tool, string keyId) =>
        entry["Scopes"] is JsonArray scopes && scopes.OfType<JsonObject>().Any(s =>
            s.Str("job_id") == jobId && s.Str("tool") == tool && s.Str("key_id") == keyId);

    private static (string Line, JsonObject? Json) Parse(string line)
    {
        try
        {
            return JsonNode.Parse(line) is JsonObject entry && entry.Str("Category") is not null && entry["Message"] is not null && entry["LogLevel"] is not null
                ? (line, entry)
                : (line, null);
        }
        catch (JsonException)
        {
            return (line, null);
        }
    }

    /// <summary>An API key or a webhook secret, whoever's.</summary>
    [GeneratedRegex(@"acx_[a-z0-9]{12}_|whsec_[A-Za-z0-9+/]{8}")]
    private static partial Regex Secret();
}
