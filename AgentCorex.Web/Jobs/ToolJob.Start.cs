using AgentCorex.Web.Execution;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Webhooks;

namespace AgentCorex.Web.Jobs;

// A run's start: queued to running in the ledger, or why the run ends without running its tool.
public sealed partial class ToolJob
{
    /// <summary>How long a job's start is tried again while the database is unavailable, holding its worker.</summary>
    private static readonly TimeSpan StartPatience = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The starts this run sent, each by the time it wrote and the events it marked pending. A start can be stored while
    /// its answer is lost (the connection cut between commit and answer): the next try finds the job running under this
    /// Hangfire job, as a run cut off by a dead node leaves it, and tells its own start by its time.
    /// </summary>
    private readonly List<(DateTime StartedAt, int Raises)> startsSent = [];

    /// <summary>
    /// Moves the job from queued to running under this Hangfire job. The common case is one statement: the job is
    /// queued and starts. Anything else reads the job first: this run's own start, stored while its answer was lost
    /// (started), a run cut off by a dead node (interrupted, then started again if its tool is safe to retry), a
    /// second Hangfire job for it, a job already ended or canceled, a revoked key's job (canceled here).
    /// </summary>
    private async Task<JobStart> StartAsync(string jobId, string? ownerKeyId, string hangfireId, CancellationToken cancellationToken)
    {
        if (ownerKeyId is not null)
        {
            var raises = await webhooks.PendingAsync(ownerKeyId, JobEventNames.Started, cancellationToken);
            var at = Sending(raises);
            if (await ledger.TryStartQueuedAsync(jobId, hangfireId, at, raises, cancellationToken) is { } started)
            {
                return JobStart.Started(started, raises);
            }
        }

        var job = await ledger.FindAsync(jobId, cancellationToken);
        if (job is null)
        {
            LogMissing(logger, jobId);
            return JobStart.NotStarted(new JobRunSummary(JobStatus.Failed, "The job is not in the ledger", Now));
        }
        using var scope = JobLogScope.Begin(logger, job);
        if (job.Status == JobStatus.Running && job.HangfireId != hangfireId)
        {
            // A second Hangfire job for it (the repair of a lost enqueue) found the first one running it.
            return JobStart.NotStarted(JobRunSummary.Duplicate(job, Now));
        }
        if (job.Status == JobStatus.Running && SentByThisRun(job) is { } sent)
        {
            // This run's own start, stored while its answer was lost: the tool has not run.
            return JobStart.Started(job, sent.Raises);
        }
        if (job.Status == JobStatus.Running)
        {
            // Hangfire runs it again after its node died: the run before this one was cut off, its tokens lost with it.
            await InterruptAsync(job, job.Attempt, hangfireId, new TokensUsed(0, 0), cancellationToken);
            job = await ledger.FindAsync(jobId, cancellationToken) ?? job;
        }
        if (job.Status != JobStatus.Queued)
        {
            return JobStart.NotStarted(Ended(job, hangfireId));
        }

        var attempt = job.Attempt + 1;
        var startedRaises = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Started, cancellationToken);
        var startedAt = Sending(startedRaises);
        if (await ledger.TryStartAsync(jobId, hangfireId, attempt, startedAt, startedRaises, cancellationToken))
        {
            job.Status = JobStatus.Running;
            job.Attempt = attempt;
            job.StartedAt = startedAt;
            return JobStart.Started(job, startedRaises);
        }
        var now = await ledger.FindAsync(jobId, cancellationToken);
        if (now is { Status: JobStatus.Queued } && now.Attempt != job.Attempt)
        {
            // Started, cut off and queued again by another worker since it was read (a second Hangfire job for it): taken
            // up afresh, as the attempt after that one.
            return await StartAsync(jobId, ownerKeyId, hangfireId, cancellationToken);
        }
        var canceled = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Canceled, cancellationToken);
        if (now?.Status == JobStatus.Queued && await ledger.TryCancelAsync(jobId, JobStatus.Queued, JobCanceler.Revocation, canceled, cancellationToken))
        {
            // Still queued, so its key was revoked: a revoked key's jobs never start.
            LogCanceledAtStart(logger, jobId, job.OwnerKeyId);
            metrics.JobFinished(job.Tool, JobStatus.Canceled);
            await webhooks.RaiseAsync(job, JobEventNames.Canceled, canceled, CancellationToken.None); // stored: as a run's end (ToolJob.End)
            await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
            return JobStart.NotStarted(new JobRunSummary(JobStatus.Canceled, JobCanceler.Revocation.Reason(JobStatus.Queued), Now));
        }
        return JobStart.NotStarted(now is null ? new JobRunSummary(JobStatus.Canceled, null, Now) : Ended(now, hangfireId));
    }

    /// <summary>The time a start about to be sent writes, kept with the events it marks pending (<see cref="startsSent"/>).</summary>
    private DateTime Sending(int raises)
    {
        var at = Now;
        startsSent.Add((at, raises));
        return at;
    }

    /// <summary>
    /// The start of this run that <paramref name="job"/>, found running under this Hangfire job, was started by, if any:
    /// the one whose time it has (<see cref="JobLedger.IsTimeWritten"/>): not this Hangfire job's run on a node that
    /// died, nor another try of this run.
    /// </summary>
    private (DateTime StartedAt, int Raises)? SentByThisRun(JobEntry job)
    {
        foreach (var sent in startsSent)
        {
            if (job.StartedAt is { } startedAt && JobLedger.IsTimeWritten(startedAt, sent.StartedAt))
            {
                return sent;
            }
        }
        return null;
    }

    /// <summary>
    /// A job that was no longer queued when this Hangfire job came to start it: this Hangfire job's own outcome when it
    /// carries the job (a run it began before its node died, say), at the time the ledger ended it (a job canceled while
    /// queued ended long before a worker got here), else that of a second Hangfire job.
    /// </summary>
    private JobRunSummary Ended(JobEntry job, string hangfireId) =>
        job.HangfireId is { } carrier && carrier != hangfireId ? JobRunSummary.Duplicate(job, Now) : new JobRunSummary(job.Status, job.ErrorMessage, job.CompletedAt ?? Now);

    /// <summary>A started job and the events its start marked pending; or, when it did not start, what the run ends with.</summary>
    private sealed record JobStart(JobEntry? Job, int Raises, JobRunSummary? Summary)
    {
        public static JobStart Started(JobEntry job, int raises) => new(job, raises, null);

        public static JobStart NotStarted(JobRunSummary summary) => new(null, 0, summary);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} could not be started in the ledger, the database being unavailable ({Reason}): trying again for up to a minute")]
    private static partial void LogStartWaits(ILogger logger, string jobId, string reason);

    // As the revocation's own line, for a job handed to Hangfire by a node that had not heard of it yet.
    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} canceled by the revocation of its API key {KeyId} before it started")]
    private static partial void LogCanceledAtStart(ILogger logger, string jobId, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hangfire started job {JobId}, which the ledger does not have")]
    private static partial void LogMissing(ILogger logger, string jobId);
}
