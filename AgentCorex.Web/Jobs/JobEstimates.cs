using System.Collections.Concurrent;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// estimated_duration_ms: the mean execution time of the tool's recent completed jobs, or the tool's own
/// estimate before it has any. Kept a few seconds per tool, so a burst of submits costs one query. Read after the
/// job is stored and enqueued, so a database unavailable for it answers the last value kept (however old), or the
/// tool's own estimate: the submit is not answered 503 while its job runs.
/// </summary>
public sealed partial class JobEstimates(IServiceScopeFactory scopes, TimeProvider time, ILogger<JobEstimates> logger)
{
    private const int RecentJobs = 100;
    private static readonly TimeSpan Freshness = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (long EstimateMs, DateTimeOffset At)> cache = new(StringComparer.Ordinal);

    public async ValueTask<long> EstimateMsAsync(ToolDescriptor tool, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var kept = cache.TryGetValue(tool.Name, out var cached);
        if (kept && now - cached.At < Freshness)
        {
            return cached.EstimateMs;
        }
        var ownEstimate = (long)tool.Tool.EstimatedDuration.TotalMilliseconds;
        List<long> recent;
        try
        {
            recent = await RecentExecutionTimesAsync(tool.Name, cancellationToken);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            LogEstimateUnread(logger, tool.Name, e.GetBaseException().Message);
            return kept ? cached.EstimateMs : ownEstimate; // not kept: the next submit asks again
        }
        var estimate = recent.Count > 0 ? (long)Math.Round(recent.Average()) : ownEstimate;
        cache[tool.Name] = (estimate, now);
        return estimate;
    }

    private async Task<List<long>> RecentExecutionTimesAsync(string toolName, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        return await db.Jobs.AsNoTracking()
            .Where(j => j.Tool == toolName && j.Status == JobStatus.Completed && j.CompletedAt != null)
            .OrderByDescending(j => j.CompletedAt)
            .Take(RecentJobs)
            .Select(j => j.ExecutionTimeMs ?? 0)
            .ToListAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The estimated duration of tool {Tool} could not be read ({Reason}); answered with the last known one, or the tool's own")]
    private static partial void LogEstimateUnread(ILogger logger, string tool, string reason);
}
