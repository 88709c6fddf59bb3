using AgentCorex.Web.Jobs;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// How the dashboard shows one of AgentCorex's own Hangfire states: its ledger status, its list's title and
/// path, and the CSS suffix its colours hang on (dashboard.css).
/// </summary>
internal sealed record CustomStateView(string StateName, string Status, string Title, string Path, string CssSuffix, MetricStyle MetricStyle)
{
    public static readonly CustomStateView Timeout = new(TimeoutState.StateName, JobStatus.Timeout, "Timed out", "/jobs/timeout", "timeout", MetricStyle.Warning);

    public static readonly CustomStateView Canceled = new(CanceledState.StateName, JobStatus.Canceled, "Canceled", "/jobs/canceled", "canceled", MetricStyle.Default);

    public static readonly IReadOnlyList<CustomStateView> All = [Timeout, Canceled];

    public string MetricName => $"agentcorex:{Status}:count";
}
