using AgentCorex.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace AgentCorex.Tests.Monitoring;

/// <summary>Logging:Format picks the console log's format; what a JSON line holds is shown on a real process (JsonLogTests).</summary>
public sealed class LogFormatTests
{
    [Test]
    public void ConsoleLog_IsPlain_ByDefault()
    {
        using var app = new AgentCorexApp();
        using var _ = app.CreateClient();

        var console = app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;

        Assert.That(console.FormatterName, Is.Null.Or.EqualTo(ConsoleFormatterNames.Simple));
    }

    [Test]
    public void ConsoleLog_IsJsonWithScopes_WhenAskedFor()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Logging:Format"] = "json" });
        using var _ = app.CreateClient();

        var console = app.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var json = app.Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue;

        Assert.Multiple(() =>
        {
            Assert.That(console.FormatterName, Is.EqualTo(ConsoleFormatterNames.Json));
            Assert.That(json.IncludeScopes, Is.True);
            Assert.That(json.UseUtcTimestamp, Is.True);
        });
    }

    [Test]
    public void Start_Fails_WithClearMessage_OnAnUnknownFormat()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Logging:Format"] = "xml" });

        var error = Assert.Catch<Exception>(() => app.CreateClient());

        Assert.That(Messages(error!), Does.Contain("Logging:Format must be 'plain' (the default) or 'json', not 'xml'"));
    }

    private static string Messages(Exception error)
    {
        var messages = new List<string>();
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            messages.Add(e.Message);
        }
        return string.Join(" | ", messages);
    }
}
