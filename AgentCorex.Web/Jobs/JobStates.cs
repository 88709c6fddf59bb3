using Hangfire.Common;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

/// <summary>A Hangfire state of AgentCorex's own: the job was canceled by its owner.</summary>
public sealed class CanceledState(string? reason = null) : IState
{
    public const string StateName = "Canceled";

    public string Name => StateName;

    public string? Reason { get; } = reason;

    public bool IsFinal => true;

    public bool IgnoreJobLoadException => true;

    public Dictionary<string, string> SerializeData() => new() { ["CanceledAt"] = JobHelper.SerializeDateTime(DateTime.UtcNow) };
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
