namespace AgentCorex.Web.Jobs;

/// <summary>
/// What a run of <see cref="ToolJob"/> returns to Hangfire: the ledger status it ended in, and the tool's execution
/// time when this run executed the tool (null when it found the job already ended, or run by another Hangfire job).
/// </summary>
public sealed record JobRunSummary(string Status, string? Message, long TimeoutMs = 0, long? ExecutionTimeMs = null);
