using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Dashboard;

/// <summary>A tool's row on the Tools page: today's figures (UTC day) and what it has running and queued now.</summary>
internal sealed record ToolRow(string Tool, int JobsToday, ToolMetricsResponse FinishedToday, int RunningNow, int QueuedNow);

internal sealed record ToolsOverviewModel(DateTime Since, IReadOnlyList<ToolRow> Rows);

/// <summary>
/// The Tools page's figures from the ledger, every key's jobs. Each read is an index range scan, so the page
/// costs the same whatever the ledger's age: jobs created today along (status, created_at), jobs running or
/// queued along the same index, and each tool's jobs finished today by <see cref="ToolMetrics"/> along
/// (tool, status, completed_at).
/// </summary>
internal sealed class ToolsOverview(AgentCorexDb db, ToolCatalog catalog, ToolMetrics metrics, TimeProvider time)
{
    public async Task<ToolsOverviewModel> ReadAsync(CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow().UtcDateTime.Date;
        // Every status is named (they are all there are) so that the (status, created_at) index serves the range.
        var createdToday = await db.Jobs.AsNoTracking()
            .Where(j => (j.Status == JobStatus.Queued || j.Status == JobStatus.Running || j.Status == JobStatus.Completed
                    || j.Status == JobStatus.Failed || j.Status == JobStatus.Timeout || j.Status == JobStatus.Canceled)
                && j.CreatedAt >= since)
            .GroupBy(j => j.Tool)
            .Select(g => new { Tool = g.Key, Jobs = g.Count() })
            .ToDictionaryAsync(r => r.Tool, r => r.Jobs, cancellationToken);
        var unfinished = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Queued || j.Status == JobStatus.Running)
            .GroupBy(j => new { j.Tool, j.Status })
            .Select(g => new { g.Key.Tool, g.Key.Status, Jobs = g.Count() })
            .ToListAsync(cancellationToken);
        int Now(string tool, string status) => unfinished.FirstOrDefault(r => r.Tool == tool && r.Status == status)?.Jobs ?? 0;

        // The catalog's tools, and any the ledger still has work of after its plugin was removed.
        var tools = catalog.All.Select(t => t.Name).Union(createdToday.Keys).Union(unfinished.Select(r => r.Tool))
            .Order(StringComparer.Ordinal);
        var rows = new List<ToolRow>();
        foreach (var tool in tools)
        {
            var finished = await metrics.FinishedSinceAsync(tool, since, cancellationToken);
            rows.Add(new ToolRow(tool, createdToday.GetValueOrDefault(tool), finished, Now(tool, JobStatus.Running), Now(tool, JobStatus.Queued)));
        }
        return new ToolsOverviewModel(since, rows);
    }
}
