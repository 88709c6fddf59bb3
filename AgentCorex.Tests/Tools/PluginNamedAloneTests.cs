using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Tools;

/// <summary>A plugin named in Tools:PluginPaths by its .dll, where <c>dotnet build</c> left it beside the libraries it needs.</summary>
public sealed class PluginNamedAloneTests
{
    [Test]
    public async Task APluginNamedByItsDll_RunsWithTheLibraryBesideIt_WhoseToolsAreNotLoaded()
    {
        // The library beside it was found nowhere: the tool was listed, and failed at its first run (Could not load file
        // or assembly 'Greetings').
        using var data = TempFolder.Create("agentcorex-plugin-alone-");
        var plugin = await PluginBuild.BuildAsync(data.Path, "Greet", GreetPlugin, new Dictionary<string, string> { ["FluentValidation"] = "11.11.0" },
            libraries: new Dictionary<string, string> { ["Greetings"] = GreetingsLibrary });

        await using var server = await ServerProcess.StartAsync(data.Path, new Dictionary<string, string> { ["Tools:PluginPaths:1"] = Path.Combine(plugin, "Greet.dll") });

        using var admin = server.CreateClient();
        var run = await (await admin.PostJsonAsync("/execute_tool", new { tool = "greet", arguments = new { name = "Ada" } })).ReadObjectAsync();
        var tools = (await (await admin.GetAsync("/tools")).ReadObjectAsync())["tools"]!.AsArray().Select(t => t.Str("name"));
        Assert.Multiple(() =>
        {
            Assert.That(run.Str("result.greeting"), Is.EqualTo("Hello, Ada!"), run.ToJsonString());
            Assert.That(tools, Does.Contain("greet").And.Not.Contain("farewell"));
        });
    }

    [Test]
    public async Task AReferenceAssemblyBesideAPluginNamedByItsDll_IsPassedOverWithAWarning_AndThePluginRuns()
    {
        // bin/ holds what the plugin was built with, not only what it needs: a file the loader refuses (a reference
        // assembly here; a C++/CLI or other-architecture library) stopped the start with its exception once the plugin's
        // neighbours were loaded, where the plugin had worked without them.
        using var data = TempFolder.Create("agentcorex-plugin-alone-ref-");
        var plugin = await PluginBuild.BuildAsync(data.Path, "Greet", GreetPlugin, new Dictionary<string, string> { ["FluentValidation"] = "11.11.0" },
            libraries: new Dictionary<string, string> { ["Greetings"] = GreetingsLibrary, ["Shelf"] = "namespace Shelf; public static class Books { }" });
        var referenceAssembly = Path.Combine(plugin, "Shelf.dll");
        File.Copy(Directory.GetFiles(Path.Combine(data.Path, "Shelf", "obj"), "Shelf.dll", SearchOption.AllDirectories)
            .Single(f => Path.GetFileName(Path.GetDirectoryName(f)) == "ref"), referenceAssembly, overwrite: true);

        await using var server = await ServerProcess.StartAsync(data.Path, new Dictionary<string, string> { ["Tools:PluginPaths:1"] = Path.Combine(plugin, "Greet.dll") });

        using var admin = server.CreateClient();
        var run = await (await admin.PostJsonAsync("/execute_tool", new { tool = "greet", arguments = new { name = "Ada" } })).ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(run.Str("result.greeting"), Is.EqualTo("Hello, Ada!"), run.ToJsonString());
            Assert.That(server.Output, Does.Match($@"warn: AgentCorex\.Web\.Tools\.ToolCatalog\[\d+\]\s+Tools:PluginPaths: {Regex.Escape(referenceAssembly)}, beside a plugin named alone, cannot be loaded, passed over: "));
        });
    }

    private const string GreetPlugin = """
        using AgentCorex.Tools;
        namespace Greet;
        public sealed record GreetArguments(string Name);
        public sealed record GreetResult(string Greeting);
        public sealed class GreetArgumentsValidator : FluentValidation.AbstractValidator<GreetArguments> { }
        public sealed class GreetTool : Tool<GreetArguments, GreetResult>
        {
            public override string Name => "greet";
            public override string Description => "Greets with the Greetings library's phrase.";
            public override Task<GreetResult> ExecuteAsync(GreetArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
                Task.FromResult(new GreetResult(Greetings.Phrase.For(arguments.Name)));
        }
        """;

    // A tool of its own, without a validator: scanned, it would be listed, or stop the start for want of one.
    private const string GreetingsLibrary = """
        using AgentCorex.Tools;
        namespace Greetings;
        public static class Phrase
        {
            public static string For(string name) => $"Hello, {name}!";
        }
        public sealed record FarewellArguments(string Name);
        public sealed record FarewellResult(string Farewell);
        public sealed class FarewellTool : Tool<FarewellArguments, FarewellResult>
        {
            public override string Name => "farewell";
            public override string Description => "Says goodbye.";
            public override Task<FarewellResult> ExecuteAsync(FarewellArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
                Task.FromResult(new FarewellResult($"Goodbye, {arguments.Name}!"));
        }
        """;
}
