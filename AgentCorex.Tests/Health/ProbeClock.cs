using AgentCorex.Web.Health;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Health;

internal static class ProbeClock
{
    /// <summary>
    /// <paramref name="app"/> with the readiness probe's clock alone swapped: a probe's answer standing, and a probe
    /// running too long, end when the test says, not when a loaded machine lets them.
    /// </summary>
    public static WebApplicationFactory<Program> WithProbeClock(this WebApplicationFactory<Program> app, TimeProvider clock) =>
        app.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton(provider =>
            new DatabaseProbe(
                provider.GetRequiredService<IServiceScopeFactory>(), clock, provider.GetRequiredService<ILogger<DatabaseProbe>>(), provider.GetService<LostConnections>()))));
}
