using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AgentCorex.Web.Health;

public static class HealthExtensions
{
    public const string LivePath = "/health/live";
    public const string ReadyPath = "/health/ready";

    /// <summary>The tag of the checks /health/ready runs.</summary>
    public const string Ready = "ready";

    /// <summary>
    /// How long the database check may take. A database that stopped answering would otherwise hold the probe for
    /// its command timeout (30 s) and more; a probe must be told "not ready" before it gives up on its own.
    /// </summary>
    public static readonly TimeSpan DatabaseCheckTimeout = TimeSpan.FromSeconds(3);

    public static WebApplicationBuilder AddHealth(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DatabaseProbe>();
        builder.Services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: [Ready], timeout: DatabaseCheckTimeout);
        return builder;
    }

    /// <summary>/health/live: the process answers. /health/ready: it can also reach its database. No key needed.</summary>
    public static WebApplication MapHealth(this WebApplication app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous().ReadOnly();
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready), ResponseWriter = WriteAsync }).AllowAnonymous().ReadOnly();
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report) =>
        context.Response.WriteAsJsonAsync(
            new HealthResponse(
                report.Status.ToString().ToLowerInvariant(),
                report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString().ToLowerInvariant())),
            ApiJson.Options,
            context.RequestAborted);

    private sealed record HealthResponse(string Status, Dictionary<string, string> Checks);

    /// <summary>The shared <see cref="DatabaseProbe"/>'s answer.</summary>
    /// <remarks>
    /// On the embedded database a statement that reads goes through while the disk is full: a write the writer refused as
    /// the database being unavailable makes the node unready for a while (<see cref="SqliteWriter.RecentRefusal"/>),
    /// asked at each request, not reused.
    /// </remarks>
    private sealed class DatabaseHealthCheck(DatabaseProbe probe, SqliteWriter? writer = null) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
            writer?.RecentRefusal() is { } refusal
                ? Task.FromResult(HealthCheckResult.Unhealthy($"The embedded database refused a write in the last {SqliteWriter.RefusalWindow.TotalSeconds:0} s ({refusal})."))
                : probe.ResultAsync().WaitAsync(cancellationToken);
    }
}
