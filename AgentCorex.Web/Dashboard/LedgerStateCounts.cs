using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// The counts beside "Timed out" and "Canceled" in the Jobs sidebar, from the ledger: one grouped count along
/// the (status, created_at) index, read once per request. Hangfire asks for sidebar metrics synchronously (as
/// it reads its own counts from its storage), so this read is synchronous too.
/// </summary>
internal static class LedgerStateCounts
{
    private static readonly object ItemKey = new();

    public static DashboardMetric Metric(CustomStateView state) => new(state.MetricName, state.Title, page =>
    {
        var count = For(page).GetValueOrDefault(state.Status);
        return new Metric(count) { Style = count > 0 ? state.MetricStyle : MetricStyle.Default, Highlighted = count > 0 && state.MetricStyle != MetricStyle.Default };
    });

    private static Dictionary<string, int> For(RazorPage page)
    {
        var http = page.Context.GetHttpContext();
        if (http.Items.TryGetValue(ItemKey, out var read) && read is Dictionary<string, int> counts)
        {
            return counts;
        }
        counts = http.RequestServices.GetRequiredService<AgentCorexDb>().Jobs
            .Where(j => j.Status == JobStatus.Timeout || j.Status == JobStatus.Canceled)
            .GroupBy(j => j.Status)
            .Select(g => new { Status = g.Key, Jobs = g.Count() })
            .ToDictionary(g => g.Status, g => g.Jobs);
        http.Items[ItemKey] = counts;
        return counts;
    }
}
