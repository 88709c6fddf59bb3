namespace AgentCorex.Web.Jobs;

/// <summary>What the job engine's storage is like; the ledger's recovery depends on it.</summary>
/// <param name="ForgetsOnRestart">True for the embedded executor (Hangfire.InMemory): the ledger is then the only durable record.</param>
/// <param name="MaxFinishedJobs">How many finished jobs it keeps at most (the embedded executor's Jobs:InMemoryMaxFinishedJobs); null when only time expires them.</param>
public sealed record HangfireExecutor(bool ForgetsOnRestart, int? MaxFinishedJobs = null)
{
    /// <summary>When this process's executor was set up: an embedded one has no job that ended before.</summary>
    public DateTime StartedAt { get; } = DateTime.UtcNow;
}
