using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Tools;

/// <summary>
/// A tool's outcomes from the ledger, by the definitions of the SQL views in reporting/: rates over finished
/// jobs (completed + failed + timeout + canceled), times over completed jobs, p95 by nearest rank (the value
/// at rank ceil(0.95 n) in ascending order). Plain LINQ, so that every storage provider translates it alike.
/// </summary>
public sealed class ToolMetrics(AgentCorexDb db)
{
    public Task<ToolMetricsResponse> ForAsync(string tool, ApiKeyIdentity caller, CancellationToken cancellationToken)
    {
        var jobs = db.Jobs.AsNoTracking().Where(j => j.Tool == tool);
        if (!caller.IsAdmin)
        {
            jobs = jobs.Where(j => j.OwnerKeyId == caller.KeyId);
        }
        return MeasureAsync(tool, jobs, cancellationToken);
    }

    /// <summary>
    /// Every key's jobs of the tool that finished at or after <paramref name="since"/> (the dashboard's day).
    /// The statuses are named so that both reads are range scans of the (tool, status, completed_at) index.
    /// </summary>
    public Task<ToolMetricsResponse> FinishedSinceAsync(string tool, DateTime since, CancellationToken cancellationToken) =>
        MeasureAsync(tool, db.Jobs.AsNoTracking().Where(j =>
            j.Tool == tool
            && (j.Status == JobStatus.Completed || j.Status == JobStatus.Failed || j.Status == JobStatus.Timeout || j.Status == JobStatus.Canceled)
            && j.CompletedAt >= since), cancellationToken);

    private static async Task<ToolMetricsResponse> MeasureAsync(string tool, IQueryable<JobEntry> jobs, CancellationToken cancellationToken)
    {
        // A row per status, read along the (tool, status, completed_at) index.
        var statuses = await jobs
            .GroupBy(j => j.Status)
            .Select(g => new StatusRow(g.Key, g.Count(), g.Count(j => j.ExecutionTimeMs != null), g.Average(j => j.ExecutionTimeMs)))
            .ToDictionaryAsync(s => s.Status, cancellationToken);
        int Count(string status) => statuses.GetValueOrDefault(status)?.Jobs ?? 0;
        var completed = statuses.GetValueOrDefault(JobStatus.Completed);

        var finished = Count(JobStatus.Completed) + Count(JobStatus.Failed) + Count(JobStatus.Timeout) + Count(JobStatus.Canceled);
        double Rate(string status) => finished == 0 ? 0 : (double)Count(status) / finished;

        return new ToolMetricsResponse(
            tool,
            statuses.Values.Sum(s => s.Jobs),
            Count(JobStatus.Completed),
            Count(JobStatus.Failed),
            Count(JobStatus.Timeout),
            Count(JobStatus.Canceled),
            Rate(JobStatus.Completed),
            Rate(JobStatus.Failed),
            completed?.AvgMs,
            completed is { Timed: > 0 } ? await P95Async(jobs, completed.Timed, cancellationToken) : null);
    }

    /// <summary>
    /// The value at rank ceil(0.95 n), computed in integers as the views do. A separate read: a job that
    /// completes in between moves the answer by at most one rank.
    /// </summary>
    private static Task<long?> P95Async(IQueryable<JobEntry> jobs, int completed, CancellationToken cancellationToken) =>
        jobs.Where(j => j.Status == JobStatus.Completed && j.ExecutionTimeMs != null)
            .OrderBy(j => j.ExecutionTimeMs)
            .Select(j => j.ExecutionTimeMs)
            .Skip((95 * completed + 99) / 100 - 1)
            .FirstOrDefaultAsync(cancellationToken);

    private sealed record StatusRow(string Status, int Jobs, int Timed, double? AvgMs);
}
