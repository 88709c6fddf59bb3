using AgentCorex.Web.Jobs;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// How the dashboard shows one of AgentCorex's own Hangfire states: its list of ledger jobs, and the CSS suffix its
/// colours hang on (dashboard.css).
/// </summary>
internal sealed record CustomStateView(string StateName, LedgerJobList List, string CssSuffix)
{
    public static readonly CustomStateView Timeout =
        new(TimeoutState.StateName, new LedgerJobList("Timed out", "/jobs/timeout", JobStatus.Timeout, ErrorCode: null, MetricStyle.Warning), "timeout");

    public static readonly CustomStateView Canceled =
        new(CanceledState.StateName, new LedgerJobList("Canceled", "/jobs/canceled", JobStatus.Canceled, ErrorCode: null, MetricStyle.Default), "canceled");

    public static readonly IReadOnlyList<CustomStateView> All = [Timeout, Canceled];
}
