namespace AgentCorex.Web.Jobs;

/// <summary>
/// What a run of <see cref="ToolJob"/> returns to Hangfire: the ledger status it ended in, and the tool's execution
/// time when this run executed the tool (null when it found the job already ended, or run by another Hangfire job).
/// </summary>
/// <param name="EndedAt">When the ledger job ended (for a cancel, when it was stored), by the server's clock.</param>
/// <param name="CarriedBy">
/// The Hangfire job that carries (or carried) the ledger job, when this run was a second Hangfire job for it (the
/// repair of an enqueue that was only late): this run ran nothing, and ends Deleted (<see cref="JobOutcomeStateFilter"/>).
/// </param>
public sealed record JobRunSummary(string Status, string? Message, DateTime EndedAt, long TimeoutMs = 0, long? ExecutionTimeMs = null, string? CarriedBy = null)
{
    /// <summary>A second Hangfire job's run: the ledger job <paramref name="job"/> is (or was) run by its own Hangfire job.</summary>
    public static JobRunSummary Duplicate(JobEntry job, DateTime now) =>
        new(job.Status, $"A second Hangfire job for {job.Id}, which Hangfire job {job.HangfireId} carries ({job.Status}): nothing ran", now, CarriedBy: job.HangfireId);
}
