using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tools;
using AgentCorex.Tools.BuiltIn.Echo;
using AgentCorex.Web.Tools;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AgentCorex.Tests.Tools;

public sealed class PluginStartupTests
{
    [Test]
    public void Start_Fails_WithClearMessage_WhenTwoToolsShareAName()
    {
        using var app = new AgentCorexApp();
        using var withDuplicate = app.WithWebHostBuilder(host =>
            host.ConfigureTestServices(services => services.AddSingleton<ITool, SecondEcho>()));

        var error = Assert.Catch<Exception>(() => withDuplicate.CreateClient());

        var messages = string.Join(" | ", Flatten(error!).Select(e => e.Message));
        Assert.That(messages, Does.Contain("Two tools are named 'echo'").And.Contain(nameof(SecondEcho)));
    }

    [Test]
    public void Start_Fails_WhenPluginPathDoesNotExist()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Tools:PluginPaths:0"] = "/nonexistent/plugins.dll" });

        var error = Assert.Catch<Exception>(() => app.CreateClient());

        Assert.That(string.Join(" | ", Flatten(error!).Select(e => e.Message)), Does.Contain("/nonexistent/plugins.dll"));
    }

    [Test]
    public void Start_TakesPluginPathsGivenAsOneValue_AsOnePath()
    {
        // --Tools:PluginPaths=dir and Tools__PluginPaths=dir were dropped by the configuration binder without a word.
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Tools:PluginPaths"] = "/nonexistent/single.dll" });

        var error = Assert.Catch<Exception>(() => app.CreateClient());

        Assert.That(string.Join(" | ", Flatten(error!).Select(e => e.Message)), Does.Contain("Tools:PluginPaths names '/nonexistent/single.dll'"));
    }

    [Test]
    public void TheToolsSettings_AsInjected_AreThoseTheToolsWereLoadedWith()
    {
        // The catalog's check at start registered them unbound: a service that injected them read no plugin path. Given
        // both ways (one value, and :0 by the fixture), as ToolsOptions.Read takes them.
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Tools:PluginPaths"] = typeof(AgentCorexApp).Assembly.Location });

        var options = app.Services.GetRequiredService<IOptions<ToolsOptions>>().Value;

        Assert.That(options.PluginPaths, Is.EqualTo(new[] { typeof(AgentCorexApp).Assembly.Location, typeof(AgentCorexApp).Assembly.Location }));
    }

    [Test]
    public void APluginFoldersCopyOfAnAssemblyTheServerHas_IsNotScanned()
    {
        // A folder's FluentValidation.dll, AgentCorex.Tools.dll, System.*.dll are its plugins' dependencies: each was
        // returned as the server's own and scanned for tools at every start.
        var folder = Directory.CreateTempSubdirectory("agentcorex-plugin-");
        try
        {
            File.Copy(typeof(FluentValidation.AbstractValidator<>).Assembly.Location, Path.Combine(folder.FullName, "FluentValidation.dll"));

            Assert.That(PluginAssemblies.Load([folder.FullName], folder.FullName, [], []), Is.Empty);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Test]
    public void Start_LogsTheToolsItLoaded_AndTheAssembliesTheyCameFrom()
    {
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp();
        using var logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));

        logged.CreateClient().Dispose();

        Assert.That(
            logs.At(LogLevel.Information).Where(l => l.StartsWith("AgentCorex.Web.Tools.ToolCatalog: Tools loaded: ", StringComparison.Ordinal)),
            Has.One.Contains("echo, fail, wait (built in)").And.One.Contains($"({typeof(AgentCorexApp).Assembly.Location})"));
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            yield return current;
            if (current is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
                {
                    yield return inner;
                }
            }
        }
    }

    // Not public, so the plugin scan of this assembly never finds it; the test adds it by hand.
    internal sealed class SecondEcho : Tool<EchoArguments, EchoResult>
    {
        public override string Name => "echo";

        public override string Description => "A second echo.";

        public override Task<EchoResult> ExecuteAsync(EchoArguments arguments, IToolContext context, CancellationToken cancellationToken) =>
            Task.FromResult(new EchoResult(arguments.Message));
    }
}
