using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Api;

/// <summary>
/// A key of the server's own sections that no setting takes (Jobs:WorkerCuont) is said at start, once, as a Warning naming
/// it and the setting it is closest to, never its value: the binder passed over it without a word. Every setting README
/// documents, and every key of the shipped appsettings.json, is one the server takes.
/// </summary>
public sealed partial class UnknownSettingsTests
{
    private const string Value = "not-to-be-logged-0123456789";

    [Test]
    public void AMisspeltSetting_IsWarnedOnceAtStart_WithTheSettingItIsClosestTo_AndNotItsValue()
    {
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:WorkerCuont"] = Value });
        using var logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));

        logged.CreateClient().Dispose();

        Assert.That(Warnings(logs), Has.Count.EqualTo(1)
            .And.One.Contains("Jobs:WorkerCuont is no setting of this server, and is ignored: did you mean Jobs:WorkerCount?"));
        Assert.That(logs.Lines, Has.None.Contains(Value));
    }

    [Test]
    public void TheShippedSettingsAndNestedOnes_AreNotWarned_WhereAMisspeltOneBesideThemIs()
    {
        // A plan's limit (a dictionary's entry), a second plugin path (a list's item, the fixture giving the first) and an
        // admin's limit (a class's property) are read below their setting's name; Webhooks:MaxAttempt is misspelt.
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["RateLimits:Plans:pro:RequestsPerMinute"] = "200",
            ["RateLimits:Plans:enterprise:MaxConcurrent"] = "60",
            ["RateLimits:Admin:MaxConcurrent"] = "5",
            ["Tools:PluginPaths:1"] = typeof(AgentCorexApp).Assembly.Location,
            ["Webhooks:MaxAttempt"] = "3",
        });
        using var logged = app.WithWebHostBuilder(host => host
            .ConfigureAppConfiguration(configuration => configuration.AddJsonFile(Path.Combine(RepositoryFiles.Root(), "appsettings.json")))
            .ConfigureLogging(logging => logging.AddProvider(logs)));

        logged.CreateClient().Dispose();

        Assert.That(Warnings(logs), Has.Count.EqualTo(1)
            .And.One.Contains("Webhooks:MaxAttempt is no setting of this server, and is ignored: did you mean Webhooks:MaxAttempts?"));
    }

    [Test]
    public void EverySettingReadmeDocuments_IsKnown_AndEachOfItsSectionsChecked()
    {
        var documented = ReadmeSettings();
        var ours = documented.Where(key => UnknownSettings.Sections.ContainsKey(key.Split(':')[0])).ToList();
        string[] others = ["Urls", "Kestrel", "ConnectionStrings", "Logging"];

        Assert.That(UnknownSettings.In(Configuration(documented)), Is.Empty);
        // Not that nothing is checked: the same settings misspelt are each unknown.
        Assert.That(UnknownSettings.In(Configuration(ours.Select(key => key + "x"))).Select(u => u.Path), Is.EquivalentTo(ours.Select(key => key + "x")));
        Assert.That(documented.Select(key => key.Split(':')[0]).Except(others).Distinct(), Is.EquivalentTo(UnknownSettings.Sections.Keys));
    }

    [Test]
    public void TwoClassesOfOneSection_AreCheckedAsOne_TheirSettingsTogether()
    {
        // By section name alone, the second class threw at start (TypeInitializationException), for a check that only warns.
        var sections = UnknownSettings.SectionsOf([typeof(TwinSettings), typeof(OtherTwinSettings)]);

        var unknown = UnknownSettings.In(Configuration(["Twin:First", "Twin:Third:Inner", "Twin:Thrid"]), sections);

        Assert.That(unknown, Is.EqualTo(new[] { new UnknownSetting("Twin:Thrid", "Twin:Third") }));
    }

    private sealed class TwinSettings
    {
        public const string Section = "Twin";

        public string First { get; set; } = "";
    }

    private sealed class OtherTwinSettings
    {
        public const string Section = "twin";

        public Dictionary<string, string> Third { get; set; } = [];
    }

    private static List<string> Warnings(CapturedLogs logs) =>
        [.. logs.At(LogLevel.Warning).Where(l => l.StartsWith($"{typeof(UnknownSettings).FullName}: ", StringComparison.Ordinal))];

    private static IConfiguration Configuration(IEnumerable<string> keys) =>
        new ConfigurationBuilder().AddInMemoryCollection(keys.Select(key => KeyValuePair.Create(key, (string?)"1"))).Build();

    /// <summary>
    /// The keys of README's Configuration table, each row's first cell: `Jobs:ServerTimeout`, several in a row
    /// (`Streaming:PollInterval` / `Streaming:KeepAliveInterval`), one shortened to its last part (`:MaxConcurrent`, beside
    /// the key it shares the rest with), a placeholder for a name (`&lt;plan&gt;`, `&lt;category&gt;`) taken as one.
    /// </summary>
    private static List<string> ReadmeSettings()
    {
        var readme = RepositoryFiles.Read("README.md");
        var table = readme[readme.IndexOf("| key | default | meaning |", StringComparison.Ordinal)..].Split('\n').Skip(2).TakeWhile(line => line.StartsWith('|'));
        var keys = new List<string>();
        foreach (var row in table)
        {
            foreach (Match key in CodeSpan().Matches(row.Split('|')[1]))
            {
                var name = key.Groups[1].Value.Replace("<plan>", "pro", StringComparison.Ordinal);
                name = Regex.Replace(name, "<[a-z]+>", "Name");
                keys.Add(name.StartsWith(':') ? keys[^1][..keys[^1].LastIndexOf(':')] + name : name);
            }
        }
        Assert.That(keys, Has.Count.GreaterThan(40), "README's Configuration table");
        return keys;
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
