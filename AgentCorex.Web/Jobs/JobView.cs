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
    public Execution.ToolProgress? ProgressOf(JobEntry job) =>
        job.Status == JobStatus.Running && job.HangfireId is not null ? JobProgressPublisher.Read(storage, job.HangfireId) : null;
}
