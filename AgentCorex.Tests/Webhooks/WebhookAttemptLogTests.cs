using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Webhooks;

/// <summary>The line logged for each delivery attempt reads cleanly, whether an answer came, an error status, or none.</summary>
public sealed class WebhookAttemptLogTests
{
    [Test]
    public async Task EachAttempt_IsLogged_WithItsStatusOrItsError_AndNothingEmpty()
    {
        var logs = new CapturedLogs();
        await using var receiver = await WebhookReceiver.StartAsync();
        using var server = await LoggedServer.StartAsync(logs, LogLevel.Information, new Dictionary<string, string?>());
        var user = server.User;
        var delivered = (await user.RegisterWebhookAsync(receiver.NewEndpoint(), "job.queued")).Str("webhook_id")!;
        var refused = (await user.RegisterWebhookAsync(receiver.NewEndpoint(new Answer(404)), "job.queued")).Str("webhook_id")!;
        // Nothing listens on the discard port: no answer, so no status code, and the delivery is retried later.
        var unanswered = (await user.RegisterWebhookAsync("http://127.0.0.1:9/hooks/nobody", "job.queued")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "logged" });
        await user.WaitForEndedDeliveryAsync(delivered, "job.queued");
        await user.WaitForEndedDeliveryAsync(refused, "job.queued");
        await user.WaitForDeliveriesAsync(unanswered, d => d.Any(x => x!["attempts"]!.AsArray().Count > 0));
        // The dispatcher logs an attempt just after storing it: the stored state can be seen before the line is written.
        List<string> Attempts() => [.. logs.Lines.Where(l => l.Contains("Webhook delivery", StringComparison.Ordinal))];
        for (var deadline = DateTime.UtcNow.AddSeconds(5); DateTime.UtcNow < deadline && Attempts().Count < 3;)
        {
            await Task.Delay(20);
        }
        var lines = Attempts();

        Assert.Multiple(() =>
        {
            Assert.That(lines, Has.Some.Contain($" to {delivered}, attempt 1: status 200, now delivered "));
            Assert.That(lines, Has.Some.Contain($" to {refused}, attempt 1: HTTP 404, now failed "));
            Assert.That(lines, Has.Some.Match($" to {unanswered}, attempt 1: \\S.*, now pending "));
            Assert.That(lines, Has.None.Contain(" ,").And.None.Contain("(null)").And.None.Contain(":  "));
        });
    }

    [Test]
    public async Task AttemptsPutOff_ByADeadReceiversOpenCircuit_AreLoggedAtDebug_AndNotListed()
    {
        var logs = new CapturedLogs();
        using var server = await LoggedServer.StartAsync(logs, LogLevel.Debug, new Dictionary<string, string?> { ["Webhooks:RetryBaseDelay"] = "00:00:00.2" });
        var user = server.User;
        var dead = (await user.RegisterWebhookAsync("http://127.0.0.1:9/hooks/nobody", "job.queued")).Str("webhook_id")!;

        for (var i = 0; i < 6; i++)
        {
            await user.SubmitAsync("echo", new { message = $"into the void {i}" });
        }
        List<string> Attempts(LogLevel level) =>
            [.. logs.At(level).Where(l => l.Contains($"Webhook delivery ", StringComparison.Ordinal) && l.Contains($" to {dead}, ", StringComparison.Ordinal))];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && Attempts(LogLevel.Debug).Count == 0;)
        {
            await Task.Delay(20);
        }
        var listed = await user.WaitForDeliveriesAsync(dead, _ => true);

        Assert.Multiple(() =>
        {
            Assert.That(Attempts(LogLevel.Debug), Is.Not.Empty.And.All.Contain("not made, its receiver did not answer a moment ago (circuit open); put off to "));
            Assert.That(Attempts(LogLevel.Information), Is.Not.Empty.And.None.Contain("circuit open"), "attempts sent are still logged");
            Assert.That(listed.SelectMany(d => d!["attempts"]!.AsArray()).Select(a => a.Str("error")), Has.None.StartWith("not sent: "),
                "an attempt put off is not one made");
        });
    }

    [Test]
    public async Task AFailedAttemptsLine_MayNameTheReceiversHostAndPort_NeverItsPathOrQuery()
    {
        var logs = new CapturedLogs();
        using var server = await LoggedServer.StartAsync(logs, LogLevel.Debug, new Dictionary<string, string?>());
        var user = server.User;
        var (pathToken, queryToken) = (Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"));
        var refusedHost = $"http://127.0.0.1:9/hooks/{pathToken}?token={queryToken}";
        var unresolvedHost = $"http://nowhere-{Guid.NewGuid():N}.invalid/hooks/{pathToken}?token={queryToken}";
        var refused = (await user.RegisterWebhookAsync(refusedHost, "job.queued")).Str("webhook_id")!;
        var unresolved = (await user.RegisterWebhookAsync(unresolvedHost, "job.queued")).Str("webhook_id")!;

        await user.SubmitAsync("echo", new { message = "to receivers that are not there" });
        List<string> Attempts(string webhookId) =>
            [.. logs.Lines.Where(l => l.Contains("Webhook delivery ", StringComparison.Ordinal) && l.Contains($" to {webhookId}, ", StringComparison.Ordinal))];
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && (Attempts(refused).Count == 0 || Attempts(unresolved).Count == 0);)
        {
            await Task.Delay(20);
        }

        Assert.Multiple(() =>
        {
            Assert.That(Attempts(refused), Is.Not.Empty.And.Some.Contain("127.0.0.1:9"), "the host and port, as README says");
            Assert.That(Attempts(unresolved), Is.Not.Empty.And.Some.Contain(".invalid did not resolve"));
            Assert.That(logs.Lines.Where(l => l.Contains(pathToken, StringComparison.Ordinal) || l.Contains(queryToken, StringComparison.Ordinal)), Is.Empty);
        });
    }

    /// <summary>
    /// A server of its own, to capture its log from <paramref name="level"/> up; private targets allowed for receivers
    /// on loopback. <see cref="User"/> is a client of a key of its own.
    /// </summary>
    private sealed class LoggedServer(AgentCorexApp app, WebApplicationFactory<Program> logged, HttpClient user) : IDisposable
    {
        public HttpClient User => user;

        public static async Task<LoggedServer> StartAsync(CapturedLogs logs, LogLevel level, Dictionary<string, string?> settings)
        {
            settings["Network:AllowPrivateTargets"] = "true";
            var app = new AgentCorexApp(settings);
            var logged = app.WithWebHostBuilder(host => host
                .UseSetting("Logging:LogLevel:AgentCorex", level.ToString())
                .ConfigureLogging(logging => logging.AddProvider(logs)));
            using var admin = logged.CreateClient();
            admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
            var key = await (await admin.PostJsonAsync("/api_keys", new { name = "logged", plan = "pro" })).ReadObjectAsync();
            var user = logged.CreateClient();
            user.DefaultRequestHeaders.Authorization = new("Bearer", key.Str("api_key"));
            return new LoggedServer(app, logged, user);
        }

        public void Dispose()
        {
            user.Dispose();
            logged.Dispose();
            app.Dispose();
        }
    }
}
