using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Tools;

/// <summary>A plugin's types that need an assembly the server has not are passed over, and the start says which and why.</summary>
public sealed class PassedOverTypesTests
{
    [Test]
    public async Task TypesThatNeedAnAssemblyTheServerHasNot_ArePassedOver_WithAWarningNamingThem()
    {
        // A copy of the test assembly, without the libraries beside it, is the plugin: AgentCorexApp derives from
        // WebApplicationFactory, which the server does not ship.
        using var data = TempFolder.Create("agentcorex-passed-over-");
        var plugin = data.File("AgentCorex.Tests.dll");
        File.Copy(typeof(ServerProcess).Assembly.Location, plugin);

        await using var server = await ServerProcess.StartAsync(data.Path, new Dictionary<string, string> { ["Tools:PluginPaths:0"] = plugin });

        Assert.That(server.Output, Does.Contain($"Plugin AgentCorex.Tests ({plugin}): type {typeof(AgentCorexApp).FullName} "
            + "cannot be loaded, passed over: Could not load file or assembly 'Microsoft.AspNetCore.Mvc.Testing, "));
    }
}
