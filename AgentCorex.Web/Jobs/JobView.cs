using Hangfire;

namespace AgentCorex.Web.Jobs;

/// <summary>A job as GET /jobs/{id} shows it: the ledger row, with its place in the queue or its progress.</summary>
public sealed class JobView(JobLedger ledger, JobStorage storage)
{
    public async Task<JobResponse> ReadAsync(JobEntry job, CancellationToken cancellationToken) => job.Status switch
    {
        JobStatus.Queued => job.ToResponse(await ledger.PositionInQueueAsync(job, cancellationToken), progress: null),
        JobStatus.Running => job.ToResponse(null, ProgressOf(job)),
        _ => job.ToResponse(null, null),
    };

    /// <summary>The progress the running node last stored, readable from any node.</summary>
    public Execution.ToolProgress? ProgressOf(JobEntry job) => ProgressOf(job.Status, job.HangfireId);

    /// <summary>The same, of a job known by its status and Hangfire id only.</summary>
    public Execution.ToolProgress? ProgressOf(string status, string? hangfireId) =>
        status == JobStatus.Running && hangfireId is not null ? JobProgressPublisher.Read(storage, hangfireId) : null;
}
