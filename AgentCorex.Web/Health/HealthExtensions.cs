using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
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

    /// <summary>
    /// Neither the token nor a statement timeout bounds a call to a database that stopped answering (Npgsql waits out
    /// its connect timeout, or an answer to its cancel request, 15 to 35 s): the probe runs in a scope of its own, so
    /// that at the check's timeout it can be left to end by itself without its context going back to the pool in use.
    /// </summary>
    /// <remarks>On PostgreSQL a probe that meets a connection a restart of the database killed tries once more (<see cref="LostConnections"/>).</remarks>
    /// <remarks>
    /// On the embedded database a statement that reads goes through while the disk is full: a write the writer refused as
    /// the database being unavailable makes the node unready for a while (<see cref="SqliteWriter.RecentRefusal"/>).
    /// </remarks>
    private sealed class DatabaseHealthCheck(IServiceScopeFactory scopes, LostConnections? lostConnections = null, SqliteWriter? writer = null) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken) =>
            writer?.RecentRefusal() is { } refusal
                ? Task.FromResult(HealthCheckResult.Unhealthy($"The embedded database refused a write in the last {SqliteWriter.RefusalWindow.TotalSeconds:0} s ({refusal})."))
                : ProbeAsync(cancellationToken).WaitAsync(cancellationToken);

        private async Task<HealthCheckResult> ProbeAsync(CancellationToken cancellationToken)
        {
            // A context each time: one whose connection broke under it is not to be used again. A statement rather than
            // CanConnect, which answers false for a lost connection instead of throwing, so that it could not be retried.
            async Task<bool> ReachableAndUpToDate()
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
                await db.Database.ExecuteSqlRawAsync("SELECT 1", cancellationToken);
                return !(await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any();
            }
            try
            {
                return await (lostConnections?.RetryOnceAsync(ReachableAndUpToDate) ?? ReachableAndUpToDate())
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy(Unreachable);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or OperationCanceledException)
            {
                // The cause's message, not the exception: the health check service logs the result, and a probe every
                // few seconds through an outage would log a stack trace each time. Also the end of a probe nobody waits for.
                return HealthCheckResult.Unhealthy($"{Unreachable} ({e.GetBaseException().Message})");
            }
        }

        private const string Unreachable = "The database cannot be reached or its schema is not up to date.";
    }
}
