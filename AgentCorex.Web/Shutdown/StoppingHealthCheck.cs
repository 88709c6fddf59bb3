using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentCorex.Web.Shutdown;

/// <summary>A stopping node is not ready: load balancers send new work elsewhere while it drains.</summary>
internal sealed class StoppingHealthCheck(ShutdownDeadline shutdown) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
        Task.FromResult(shutdown.IsStopping ? HealthCheckResult.Unhealthy("The server is shutting down.") : HealthCheckResult.Healthy());
}
