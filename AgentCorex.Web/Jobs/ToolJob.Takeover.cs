using AgentCorex.Web.Execution;
using AgentCorex.Web.Storage;
using Hangfire.Server;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

// A run whose job another worker took over (this node stalled): found out, and ended without a trace.
public sealed partial class ToolJob
{
    /// <summary>
    /// Whether the job is no longer this run's: another worker runs it now. A node that stalled longer than
    /// Jobs:InvisibilityTimeout while alive (a paused VM, a long GC pause) loses its running job to another node, whose
    /// worker moves the Hangfire job to Processing on its own server and then starts a newer attempt in the ledger. So
    /// either says it: the Hangfire job Processing under another worker, or a newer attempt in the ledger. Such a run
    /// ends without a trace (<see cref="TakenOver"/>). A database that cannot be read says nothing: the run goes on as
    /// its own, each of its writes guarded by its attempt.
    /// </summary>
    private async Task<bool> IsTakenOverAsync(JobLedger jobs, string jobId, int attempt, PerformContext? perform)
    {
        try
        {
            return (perform is not null && IsProcessingElsewhere(perform)) || (await jobs.FindAsync(jobId, CancellationToken.None))?.Attempt > attempt;
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the run's Hangfire job is Processing under another worker: another server's, or (Hangfire's own check
    /// knows this worker's id, so asked first) another of this server's workers. Once the token was aborted, a
    /// Processing state is never this worker's again.
    /// </summary>
    private bool IsProcessingElsewhere(PerformContext perform)
    {
        var aborted = HangfireJobToken.StateOf(perform) == HangfireJobToken.State.Aborted;
        using var connection = storage.GetConnection();
        var state = connection.GetStateData(perform.BackgroundJob.Id);
        if (state is null || !ProcessingState.StateName.Equals(state.Name, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return aborted || !(state.Data.TryGetValue("ServerId", out var serverId) && serverId.Equals(perform.ServerId, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// A run whose end or cancel the ledger did not take: a cancel stored first (a DELETE, here or on another node: the
    /// ledger says who), which keeps the <paramref name="tokens"/> its tool had reported; or a takeover by another worker
    /// (<see cref="IsTakenOverAsync"/>), which ends this run as it is.
    /// </summary>
    private async Task<JobRunSummary> EndedByAnotherAsync(string jobId, int attempt, TokensUsed tokens, PerformContext perform)
    {
        if (await IsTakenOverAsync(ledger, jobId, attempt, perform))
        {
            throw TakenOver(jobId, attempt);
        }
        await KeepCanceledTokensAsync(ledger, jobId, attempt, tokens);
        return await EndedAsync(ledger, jobId);
    }

    /// <summary>
    /// Ends a run taken over by another worker as it is: no ledger write, no event, no slot handed over, and no change
    /// of its Hangfire job, which is the other worker's now. Hangfire's worker takes the exception for an aborted job:
    /// it neither changes the job's state nor requeues it, and removes only its own fetch of it from the queue.
    /// </summary>
    private JobAbortedException TakenOver(string jobId, int attempt)
    {
        LogTakenOver(logger, jobId, attempt);
        return new JobAbortedException();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} was taken over by a newer attempt on another worker while its attempt {Attempt} ran here (this node stalled past Jobs:InvisibilityTimeout, say): this run ends without changing the job")]
    private static partial void LogTakenOver(ILogger logger, string jobId, int attempt);
}
