using System.Net;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Auth;

[NonParallelizable] // captures the process's console
public sealed partial class AdminBootstrapTests
{
    [Test]
    public async Task FirstStart_CreatesAdminKey_AndPrintsItOnce_WhenNoneIsConfigured()
    {
        using var folder = TempFolder.Create("agentcorex-bootstrap-");
        var data = folder.Path;
        var noConfiguredKey = new Dictionary<string, string?> { ["Auth:AdminKey"] = "" };

        var firstOutput = await CaptureConsoleAsync(async () =>
        {
            using var first = new AgentCorexApp(noConfiguredKey, data);
            using var probe = first.CreateClient();
            await probe.GetAsync("/health/live");
        });
        var printed = ApiKeyPattern().Matches(firstOutput).Select(m => m.Value).Distinct().ToList();
        Assert.That(printed, Has.Count.EqualTo(1), firstOutput);
        await AgentCorexApp.LetGoOfDatabaseAsync(data);

        var secondOutput = await CaptureConsoleAsync(async () =>
        {
            using var second = new AgentCorexApp(noConfiguredKey, data);
            using var client = second.CreateClient(printed[0]);
            var response = await client.GetAsync("/api_keys");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the printed key is an admin key, and survives a restart");
            var keys = (await response.ReadObjectAsync())["api_keys"]!.AsArray();
            Assert.That(keys.Select(k => k.Str("name")), Has.Exactly(1).EqualTo("bootstrap admin"));
        });
        Assert.That(ApiKeyPattern().IsMatch(secondOutput), Is.False, "a second start prints no key");
    }

    [Test]
    public async Task NodesStartingTogether_OnAFreshClusterDatabase_MakeOneAdminKey()
    {
        var settings = await ServerTest.PostgreSqlSettingsAsync();
        settings["Auth:AdminKey"] = "";
        using var app = new AgentCorexApp(settings);
        using (app.CreateClient())
        {
        }
        // This server made one at its start; without it the database is as fresh, and six nodes start on it at once.
        await using (var scope = app.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().ApiKeys.Where(k => k.IsAdmin).ExecuteDeleteAsync();
        }

        var output = await CaptureConsoleAsync(() => Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
        {
            await using var scope = app.Services.CreateAsyncScope();
            await ActivatorUtilities.CreateInstance<AdminKeyBootstrap>(scope.ServiceProvider).StartedAsync(CancellationToken.None);
        })));

        Assert.That(ApiKeyPattern().Matches(output).Select(m => m.Value).Distinct().Count(), Is.EqualTo(1), output);
        await using var check = app.Services.CreateAsyncScope();
        Assert.That(await check.ServiceProvider.GetRequiredService<AgentCorexDb>().ApiKeys.CountAsync(k => k.IsAdmin), Is.EqualTo(1));
    }

    [Test]
    public async Task UnderTheJsonLogFormat_TheKeyIsPrintedAsOneJsonLine()
    {
        var output = await CaptureConsoleAsync(async () =>
        {
            using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Auth:AdminKey"] = "", ["Logging:Format"] = "json" });
            using var probe = app.CreateClient();
            await probe.GetAsync("/health/live");
        });

        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(l => ApiKeyPattern().IsMatch(l)).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), output);
        var banner = System.Text.Json.Nodes.JsonNode.Parse(lines[0])!;
        var other = System.Text.Json.Nodes.JsonNode.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .First(l => l.StartsWith('{') && !ApiKeyPattern().IsMatch(l)))!;
        Assert.Multiple(() =>
        {
            Assert.That(banner.Str("LogLevel"), Is.EqualTo("Warning"));
            Assert.That(banner.Str("Message"), Does.StartWith("AgentCorex created an admin API key"));
            Assert.That(ApiKeyPattern().IsMatch(banner.Str("State.AdminKey")!), Is.True);
            Assert.That(FieldsOf(banner), Is.EqualTo(FieldsOf(other)), "the fields of every other line: " + lines[0]);
            Assert.That(banner["Scopes"]?.AsArray(), Is.Empty);
        });
    }

    private static string[] FieldsOf(System.Text.Json.Nodes.JsonNode line) => [.. line.AsObject().Select(field => field.Key)];

    [Test]
    public async Task ConfiguredAdminKey_IsNeverPrinted()
    {
        var output = await CaptureConsoleAsync(async () =>
        {
            using var app = new AgentCorexApp();
            using var client = app.CreateAdminClient();
            Assert.That((await client.GetAsync("/api_keys")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });

        Assert.That(output, Does.Not.Contain(AgentCorexApp.AdminKey));
        Assert.That(ApiKeyPattern().IsMatch(output), Is.False);
    }

    private static async Task<string> CaptureConsoleAsync(Func<Task> action)
    {
        var original = Console.Out;
        using var writer = new StringWriter();
        Console.SetOut(TextWriter.Synchronized(writer));
        try
        {
            await action();
        }
        finally
        {
            Console.SetOut(original);
        }
        return writer.ToString();
    }

    [GeneratedRegex("acx_[a-z0-9]{12}_[a-z0-9]{40}")]
    private static partial Regex ApiKeyPattern();
}
