using AgentCorex.Web.Execution;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Hangfire.Server;

namespace AgentCorex.Web.Jobs;

// A run cut off by its server's stopping: told apart from a cancel, and settled by the restart rules.
public sealed partial class ToolJob
{
    /// <summary>
    /// Whether a run whose token fired was cut off by its server's stopping (the application's shutdown, or Hangfire
    /// restarting its server in place: one that could not write its heartbeat for Jobs:ServerTimeout, or found itself
    /// removed by another node) rather than canceled. Our own token alone (a forced DELETE on this node) is a cancel.
    /// Hangfire's fires for either, and Hangfire tells them apart as its worker does: its token throws a
    /// <see cref="JobAbortedException"/> when its cancellation check found the job's state changed (no longer
    /// Processing, or Processing on another server or worker: a cancel elsewhere), and a plain
    /// OperationCanceledException when its server stopped. Once the token fired neither answer reads the database
    /// (it reads the job's state only when neither happened), so it costs nothing, and holds during a database
    /// outage: a check that cannot read the state aborts nothing, so its server's restart is a cut-off.
    /// </summary>
    private static bool IsCutOff(PerformContext perform, CancellationToken hangfireToken) =>
        hangfireToken.IsCancellationRequested && HangfireJobToken.StateOf(perform) == HangfireJobToken.State.Stopped;

    /// <summary>
    /// A cut-off run of Hangfire job <paramref name="hangfireId"/>: back to the queue when its tool is safe to retry and
    /// it has runs left (<see cref="CutOffEnd"/>), else failed with the <paramref name="tokens"/> its tool had reported
    /// (and that is an event). False when the job was no longer running in that attempt.
    /// </summary>
    private async Task<bool> InterruptAsync(JobEntry job, int attempt, string hangfireId, TokensUsed tokens, CancellationToken cancellationToken)
    {
        var end = CutOffEnd.For(catalog, options.Value, job.Tool, attempt);
        var failed = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Failed, cancellationToken);
        var endedAt = Now;
        bool interrupted;
        try
        {
            interrupted = await ledger.TryInterruptAsync(job.Id, attempt, end, failed, tokens, endedAt, cancellationToken);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            // Stored while its answer was lost (the connection cut between commit and answer), it is this run's all the same.
            if (!await ledger.IsInterruptedAsync(job.Id, attempt, end, endedAt))
            {
                throw;
            }
            interrupted = true;
        }
        if (interrupted && end.RunsAgain)
        {
            // Its next run is this Hangfire job's again (Hangfire requeues it), and finds the cut-off run's progress stored
            // on it. Cleared here, while the ledger shows the job queued, at no cost to a run that was never cut off.
            JobProgressPublisher.Clear(storage, hangfireId, logger);
        }
        if (interrupted && !end.RunsAgain)
        {
            metrics.JobFinished(job.Tool, JobStatus.Failed);
            await webhooks.RaiseAsync(job, JobEventNames.Failed, failed, CancellationToken.None); // stored: as a run's end (ToolJob.End)
            await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
        }
        return interrupted;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was still running when the server's shutdown timeout ran out: cut off")]
    private static partial void LogCutOff(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was cut off: its Hangfire server {ServerId} restarted (it could not write its heartbeat for Jobs:ServerTimeout, or another node took it for dead and removed it)")]
    private static partial void LogCutOffByRestart(ILogger logger, string jobId, string? serverId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was cut off, but the ledger could not record it ({Reason}): it is settled when the job runs again")]
    private static partial void LogInterruptNotStored(ILogger logger, Exception? exception, string jobId, string reason);
}
