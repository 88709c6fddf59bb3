using AgentCorex.Web.Jobs;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// A list of ledger jobs in the Jobs sidebar, beside Hangfire's own: the jobs in one status (and with one error code,
/// when it says one), with their count. The ledger keeps them when Hangfire has expired or, on the embedded
/// executor, forgotten them at a restart.
/// </summary>
internal sealed record LedgerJobList(string Title, string Path, string Status, string? ErrorCode, MetricStyle MetricStyle)
{
    /// <summary>
    /// Jobs a restart cut off whose tools were not safe to run again, or in their last run (Jobs:MaxAttempts): failed
    /// SERVER_RESTARTED. On the embedded executor Hangfire's Failed list forgets them at that very restart; this is
    /// where an operator finds them after a crash.
    /// </summary>
    public static readonly LedgerJobList Interrupted =
        new("Interrupted", "/jobs/interrupted", JobStatus.Failed, JobErrors.ServerRestarted, MetricStyle.Danger);

    /// <summary>Every ledger list of the Jobs sidebar: the custom states' and this one.</summary>
    public static IReadOnlyList<LedgerJobList> All => [.. CustomStateView.All.Select(state => state.List), Interrupted];

    public string MetricName => $"agentcorex:{(ErrorCode ?? Status).ToLowerInvariant()}:count";

    public bool Holds(string status, string? errorCode) => status == Status && (ErrorCode is null || errorCode == ErrorCode);
}
