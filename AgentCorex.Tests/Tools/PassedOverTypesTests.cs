using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Tools;

/// <summary>A plugin's types that need an assembly the server has not are passed over, and the start says which and why.</summary>
public sealed class PassedOverTypesTests
{
    [Test]
    public async Task TypesThatNeedAnAssemblyTheServerHasNot_ArePassedOver_WithAWarningNamingThem()
    {
        // The test assembly is the plugin: AgentCorexApp derives from WebApplicationFactory, which the server does not ship.
        using var data = TempFolder.Create("agentcorex-passed-over-");
        await using var server = await ServerProcess.StartAsync(data.Path);

        Assert.That(server.Output, Does.Contain($"Plugin AgentCorex.Tests ({typeof(ServerProcess).Assembly.Location}): type {typeof(AgentCorexApp).FullName} "
            + "cannot be loaded, passed over: Could not load file or assembly 'Microsoft.AspNetCore.Mvc.Testing, "));
    }
}
