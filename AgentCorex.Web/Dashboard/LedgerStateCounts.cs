using AgentCorex.Web.Storage;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// The counts beside the ledger's lists in the Jobs sidebar (Timed out, Canceled, Interrupted): one grouped count along
/// the (status, created_at) index, read once per request. Hangfire asks for sidebar metrics synchronously (as
/// it reads its own counts from its storage), so this read is synchronous too.
/// </summary>
internal static class LedgerStateCounts
{
    private static readonly object ItemKey = new();

    public static DashboardMetric Metric(LedgerJobList list) => new(list.MetricName, list.Title, page =>
    {
        var count = For(page).Where(g => list.Holds(g.Status, g.ErrorCode)).Sum(g => g.Jobs);
        return new Metric(count) { Style = count > 0 ? list.MetricStyle : MetricStyle.Default, Highlighted = count > 0 && list.MetricStyle != MetricStyle.Default };
    });

    private static List<Group> For(RazorPage page)
    {
        var http = page.Context.GetHttpContext();
        if (http.Items.TryGetValue(ItemKey, out var read) && read is List<Group> counts)
        {
            return counts;
        }
        // The lists' statuses, by status and error code: each list sums the groups it holds.
        var statuses = LedgerJobList.All.Select(list => list.Status).Distinct().ToArray();
        counts = http.RequestServices.GetRequiredService<AgentCorexDb>().Jobs
            .Where(j => statuses.Contains(j.Status))
            .GroupBy(j => new { j.Status, j.ErrorCode })
            .Select(g => new Group(g.Key.Status, g.Key.ErrorCode, g.Count()))
            .ToList();
        http.Items[ItemKey] = counts;
        return counts;
    }

    private sealed record Group(string Status, string? ErrorCode, int Jobs);
}
