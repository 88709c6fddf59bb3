using Hangfire.Common;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// A Hangfire state of AgentCorex's own: the job was canceled by its owner, at <paramref name="canceledAt"/>, the
/// ledger's time of the cancel where it is known (a job canceled while queued reaches this state only when a worker
/// takes its Hangfire job, which may be long after); the dashboard shows it in the job's history.
/// </summary>
public sealed class CanceledState(DateTime canceledAt, string? reason = null) : IState
{
    public const string StateName = "Canceled";

    public string Name => StateName;

    public string? Reason { get; } = reason;

    public bool IsFinal => true;

    public bool IgnoreJobLoadException => true;

    public Dictionary<string, string> SerializeData() => new() { ["CanceledAt"] = JobHelper.SerializeDateTime(canceledAt) };
}

/// <summary>A Hangfire state of AgentCorex's own: the job ran past its timeout.</summary>
public sealed class TimeoutState(long timeoutMs) : IState
{
    public const string StateName = "Timeout";

    public string Name => StateName;

    public string Reason => $"Tool execution exceeded {timeoutMs}ms timeout";

    public bool IsFinal => true;

    public bool IgnoreJobLoadException => true;

    public Dictionary<string, string> SerializeData() => new() { ["TimeoutMs"] = timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

/// <summary>
/// Hangfire's Failed state, as the dashboard lists it, for a tool that failed: a final answer (never retried, and the
/// dashboard cannot requeue it), so final, and expired as every other finished job (Jobs:InMemoryJobExpiration on the
/// embedded default, a day on a server database). Hangfire's own FailedState is not final: it waits for an operator's
/// requeue and never expires, so every failed tool job stayed in Hangfire for good, in the embedded default's memory
/// until a restart and in a server database's hangfire.job for ever (found by a soak test).
/// </summary>
public sealed class ToolFailedState(FailedState failed) : IState
{
    public string Name => failed.Name;

    public string? Reason => failed.Reason;

    public bool IsFinal => true;

    public bool IgnoreJobLoadException => failed.IgnoreJobLoadException;

    /// <summary>
    /// Hangfire's Failed data with an empty ExceptionDetails, which for an exception never thrown is its type and message
    /// again (the state shows both): held in memory by every failed job Hangfire keeps on the embedded default, for
    /// nothing. Empty, not left out: Hangfire.PostgreSql's Failed list reads the key with no fallback (a 500 without it).
    /// </summary>
    public Dictionary<string, string> SerializeData()
    {
        var data = failed.SerializeData();
        data["ExceptionDetails"] = "";
        return data;
    }
}
