namespace AgentCorex.Web.Tools;

/// <summary>Builds the catalog at start, so a bad plugin (two tools with one name, a missing validator) stops the start, not the first request.</summary>
internal sealed class ToolCatalogStartupCheck(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        services.GetRequiredService<ToolCatalog>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
