using System.Collections.Concurrent;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// estimated_duration_ms: the mean execution time of the tool's recent completed jobs, or the tool's own
/// estimate before it has any. Kept a few seconds per tool, so a burst of submits costs one query.
/// </summary>
public sealed class JobEstimates(IServiceScopeFactory scopes, TimeProvider time)
{
    private const int RecentJobs = 100;
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (long EstimateMs, DateTimeOffset At)> cache = new(StringComparer.Ordinal);

    public async ValueTask<long> EstimateMsAsync(ToolDescriptor tool, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (cache.TryGetValue(tool.Name, out var cached) && now - cached.At < Freshness)
        {
            return cached.EstimateMs;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var recent = await db.Jobs.AsNoTracking()
            .Where(j => j.Tool == tool.Name && j.Status == JobStatus.Completed && j.CompletedAt != null)
            .OrderByDescending(j => j.CompletedAt)
            .Take(RecentJobs)
            .Select(j => j.ExecutionTimeMs ?? 0)
            .ToListAsync(cancellationToken);
        var estimate = recent.Count > 0 ? (long)Math.Round(recent.Average()) : (long)tool.Tool.EstimatedDuration.TotalMilliseconds;
        cache[tool.Name] = (estimate, now);
        return estimate;
    }
}
