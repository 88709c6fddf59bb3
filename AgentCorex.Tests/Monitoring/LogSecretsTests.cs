using System.Net.Http.Json;
using System.Security.Cryptography;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// What a request sends (a key, a webhook's secret and URL, a tool's arguments) never reaches the log, at whatever
/// level an operator sets, for every category or for the console alone.
/// </summary>
[NonParallelizable]
public sealed class LogSecretsTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-logsecrets-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task ActionArguments_AreNotLogged_WithEveryCategoryAtTrace()
    {
        var logs = new CapturedLogs();
        // A server of its own: a second host over a fixture's would share Hangfire's process-wide state with it.
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Network:AllowPrivateTargets"] = "true" });
        using var logged = app.WithWebHostBuilder(host => host
            .UseSetting("Logging:LogLevel:Default", "Trace")
            .UseSetting("Logging:LogLevel:Microsoft.AspNetCore", "Trace")
            .ConfigureLogging(logging => logging.AddProvider(logs)));
        using var admin = logged.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var sent = new Sent();

        var webhook = await admin.PostJsonAsync("/webhooks", new { url = $"http://127.0.0.1:9/hooks/{sent.UrlToken}", events = new[] { "job.completed" }, secret = sent.WebhookSecret });
        var execution = await admin.PostJsonAsync("/execute_tool", new { tool = "test_nested", arguments = sent.ToolArguments });

        Assert.Multiple(() =>
        {
            Assert.That(webhook.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Created), "registered");
            Assert.That(execution.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), "ran");
            Assert.That(logs.Lines, Has.Some.Contain("Route matched with {action = \"Create\", controller = \"Webhooks\"}"),
                "the capture works, and the invoker's other lines are still logged");
            Assert.That(sent.FoundIn(logs.Lines), Is.Empty);
        });
    }

    [Test]
    public async Task TheConsolesOwnLevelAtTrace_LogsNoKeyNoSecretNoArgument()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var sent = new Sent();
        string output, apiKey;
        // A provider's own level (Logging:Console:LogLevel) is the one its loggers take over any other rule.
        var settings = new Dictionary<string, string> { ["Logging:Console:LogLevel:Default"] = "Trace", ["Network:AllowPrivateTargets"] = "true" };
        await using (var server = await ServerProcess.StartAsync(data, settings))
        {
            using var admin = server.CreateClient();
            apiKey = (await (await admin.PostAsJsonAsync("/api_keys", new { name = "console-logged", plan = "pro" })).ReadObjectAsync()).Str("api_key")!;
            using var user = server.CreateClient(apiKey);
            var webhook = await (await user.PostJsonAsync("/webhooks",
                new { url = $"{receiver.NewEndpoint()}?token={sent.UrlToken}", events = new[] { "job.completed" }, secret = sent.WebhookSecret })).ReadObjectAsync();
            var jobId = await user.SubmitAsync("test_nested", sent.ToolArguments);
            await user.WaitForEndedDeliveryAsync(webhook.Str("webhook_id")!, "job.completed");
            using var browser = new HttpClient { BaseAddress = server.BaseAddress };
            await browser.GetStringAsync($"/jobs/{jobId}/stream?access_token={Uri.EscapeDataString(apiKey)}");

            await server.StopAsync();
            output = server.Output;
        }
        var lines = output.Split('\n');

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Some.StartsWith("trce: "), "the console logged at Trace");
            Assert.That(sent.FoundIn(lines), Is.Empty);
            Assert.That(lines.Where(l => l.Contains(apiKey, StringComparison.Ordinal) || l.Contains(AgentCorexApp.AdminKey, StringComparison.Ordinal)), Is.Empty, "a key");
        });
    }

    [Test]
    public async Task MalformedRequests_AreNotQuotedInTheLog_WithEveryCategoryAtTrace()
    {
        var settings = new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Trace", ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace" };
        string output;
        var answers = new List<string>();
        await using (var server = await ServerProcess.StartAsync(data, settings))
        {
            // A space in the target, a header line without its colon: Kestrel refuses both before any middleware.
            foreach (var request in new[]
            {
                $"GET /jobs/job_x/stream?access_token={AgentCorexApp.AdminKey} now HTTP/1.1\r\nHost: x\r\n\r\n",
                $"GET /jobs HTTP/1.1\r\nHost: x\r\nAuthorization Bearer {AgentCorexApp.AdminKey}\r\n\r\n",
            })
            {
                answers.Add(await SendRawAsync(server.BaseAddress, request));
            }
            await server.StopAsync();
            output = server.Output;
        }

        Assert.Multiple(() =>
        {
            Assert.That(answers, Has.All.StartWith("HTTP/1.1 400 "), "refused by Kestrel");
            Assert.That(output, Does.Contain("Microsoft.AspNetCore.Server.Kestrel"), "Kestrel's lines are logged");
            Assert.That(output, Does.Not.Contain(AgentCorexApp.AdminKey));
        });
    }

    /// <summary>Sends bytes no HttpClient would, and answers the status line.</summary>
    private static async Task<string> SendRawAsync(Uri server, string request)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, System.Text.Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "";
    }

    /// <summary>The values a test sends that no log line may hold.</summary>
    private sealed class Sent
    {
        public string WebhookSecret { get; } = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

        /// <summary>A receiver's token in its URL.</summary>
        public string UrlToken { get; } = "url-token-" + Guid.NewGuid().ToString("N");

        public string ArgumentToken { get; } = "sk-live-" + Guid.NewGuid().ToString("N");

        public object ToolArguments => new { target = new { host = "db.internal", port = 5432 }, tags = new[] { "x" }, api_token = ArgumentToken };

        public IEnumerable<string> FoundIn(IEnumerable<string> lines) => lines.Where(l =>
            l.Contains(WebhookSecret["whsec_".Length..], StringComparison.Ordinal)
            || l.Contains(UrlToken, StringComparison.Ordinal)
            || l.Contains(ArgumentToken, StringComparison.Ordinal));
    }
}
