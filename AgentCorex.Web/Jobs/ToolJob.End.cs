using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

// A run's end recorded: in Hangfire, and in the ledger through an outage, then its metric, log, event and key's slot.
public sealed partial class ToolJob
{
    /// <summary>
    /// The most time the tokens of a run a cancel ended first are tried again while the database is unavailable: no try is
    /// begun past it, so with the retries' doubling pauses (100 ms to 3.2 s) the last comes about 6.3 s after the first.
    /// </summary>
    private static readonly TimeSpan CanceledTokensPatience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Moves the Hangfire job of a run that did not complete to its final state (Failed, Timeout, Canceled) while it
    /// is still Processing. The worker's Succeeded that follows the return expects Processing and is dropped, so no
    /// Succeeded state enters the job's history or Hangfire's counts. Were the worker's Succeeded to replace it
    /// instead, in an election (<see cref="JobOutcomeStateFilter"/>, the fallback here), Hangfire would write the
    /// Succeeded into the history all the same. A job already moved elsewhere (a forced cancel) is left as it is.
    /// </summary>
    private void EndInHangfire(string jobId, string hangfireId, JobRunSummary summary)
    {
        if (JobOutcomeStateFilter.StateOf(summary) is not { } state)
        {
            return;
        }
        try
        {
            hangfire.ChangeState(hangfireId, state, ProcessingState.StateName);
        }
        catch (Exception e)
        {
            LogEndInHangfireFailed(logger, e, jobId, state.Name);
        }
    }

    /// <summary>
    /// Stores how a run ended, trying again while the database is unavailable: the outcome exists only in this
    /// process until then, and a run the ledger still holds as running is otherwise failed by the repair pass as cut
    /// off. The trying goes on through a stop's drain, which gives a run that long to end (a write under way is not
    /// cut short), and ends once its cut-off runs would have had their time to store theirs
    /// (<see cref="ShutdownDeadline.LastWrites"/>): a node stopped during an outage exits in the time the drain gives,
    /// and the restart's recovery takes the job as cut off. (Which events the write marks pending is asked before:
    /// <see cref="WebhookEvents.PendingAsync"/> answers even without a database.)
    /// </summary>
    private Task<bool> UntilStoredAsync(string jobId, Func<Task<bool>> write) =>
        DatabaseFailures.RetryWhileUnavailableAsync(write, TimeSpan.MaxValue, time, e => LogEndWaits(logger, jobId, e.GetBaseException().Message), shutdown.LastWrites);

    /// <summary>What follows a stored end: the metric, the log, the job's event, and its key's slot for a parked job.</summary>
    private async Task AfterEndAsync(WebhookEvents webhooks, ExecutionSlots slots, JobEntry job, JobEnding ending, DateTime endedAt, int raises)
    {
        metrics.JobFinished(job.Tool, ending.Status);
        LogFinished(logger, job.Id, ending.Status, ending.ExecutionTimeMs);
        ending.ApplyTo(job, endedAt);
        await webhooks.RaiseAsync(job, "job." + ending.Status, raises, CancellationToken.None);
        await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
    }

    /// <summary>
    /// The rest of a run whose worker went on before its end was committed. An end that was not stored lost to a write
    /// handed to the ledger before it, a forced cancel above all: Hangfire may already show this run's end (a cancel
    /// moves the Hangfire job from Processing only), so the Hangfire job is moved from any state to the ledger's end.
    /// The repair pass leaves the job alone until this is settled (<see cref="RunningJobs.EndInFlight"/>). It runs in a
    /// scope of its own: the Hangfire job's scope, this job's, ends as the worker goes on.
    /// </summary>
    private async Task AfterEndStoredAsync(JobEntry job, JobEnding ending, DateTime endedAt, int raises, Task<bool> stored, string hangfireId)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var jobs = scope.ServiceProvider.GetRequiredService<JobLedger>();
            if (await stored || await jobs.IsEndedAtAsync(job.Id, ending.Status, endedAt, job.Attempt))
            {
                await AfterEndAsync(
                    scope.ServiceProvider.GetRequiredService<WebhookEvents>(), scope.ServiceProvider.GetRequiredService<ExecutionSlots>(),
                    job, ending, endedAt, raises);
                return;
            }
            if (await IsTakenOverAsync(jobs, job.Id, job.Attempt, perform: null))
            {
                LogTakenOver(logger, job.Id, job.Attempt);
                return;
            }
            await KeepCanceledTokensAsync(jobs, job.Id, job.Attempt, ending.Tokens);
            if (JobOutcomeStateFilter.StateOf(await EndedAsync(jobs, job.Id)) is { } state)
            {
                hangfire.ChangeState(hangfireId, state, expectedState: null);
            }
        }
        // Given up at the stop's last writes: ended in a pause between tries, or with the failure of the try under way as
        // they came (or of the first, when they had come before it), which RetryWhileUnavailableAsync throws as it is.
        catch (Exception e) when (shutdown.LastWrites.IsCancellationRequested && (e is OperationCanceledException || DatabaseFailures.IsUnavailable(e)))
        {
            LogEndGaveUp(logger, job.Id);
        }
        catch (Exception e)
        {
            LogAfterEndFailed(logger, e, job.Id);
        }
        finally
        {
            running.EndSettled(job.Id, job.Attempt);
        }
    }

    /// <summary>
    /// The tokens of a run that a cancel ended first (the cancel could not know them), tried again through an outage for
    /// <see cref="CanceledTokensPatience"/> only: they serve reporting alone, and on a server database the run's worker
    /// waits for them, where the cancel that won is already stored. Past that, or the stop's last writes, they are lost,
    /// logged once. A run that reported none has nothing to write.
    /// </summary>
    private async Task KeepCanceledTokensAsync(JobLedger jobs, string jobId, int attempt, TokensUsed tokens)
    {
        if (tokens is { Input: 0, Output: 0 })
        {
            return;
        }
        try
        {
            await DatabaseFailures.RetryWhileUnavailableAsync(
                () => jobs.TryKeepCanceledTokensAsync(jobId, attempt, tokens, CancellationToken.None),
                CanceledTokensPatience, time, waiting: _ => { }, shutdown.LastWrites);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e) || (e is OperationCanceledException && shutdown.LastWrites.IsCancellationRequested))
        {
            LogCanceledTokensLost(logger, jobId, tokens.Input, tokens.Output, e is OperationCanceledException ? "until the stop's deadline" : e.GetBaseException().Message);
        }
    }

    /// <summary>
    /// How the ledger ended a run that something else ended first, for its Hangfire state: a cancel above all, whose
    /// message says who canceled it (<see cref="JobCanceler"/>), and when it was stored. Read after that was stored; a
    /// database that cannot be read now is taken for a cancel, the one write that ends a live node's run first
    /// (<see cref="IsTakenOverAsync"/> having said no takeover), and costs only the name of who canceled; the time is
    /// this read's.
    /// </summary>
    private async Task<JobRunSummary> EndedAsync(JobLedger ledger, string jobId)
    {
        JobEntry? job;
        try
        {
            job = await ledger.FindAsync(jobId, CancellationToken.None);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            job = null;
        }
        return job is null
            ? new JobRunSummary(JobStatus.Canceled, JobCanceler.Unknown, Now)
            : new JobRunSummary(job.Status, job.ErrorMessage ?? (job.Status == JobStatus.Canceled ? JobCanceler.Unknown : null), job.CompletedAt ?? Now, job.TimeoutMs);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended, but the database is unavailable to store it ({Reason}): trying again until it is")]
    private static partial void LogEndWaits(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended, but the database was still unavailable to store it when trying gave up at the stop's deadline (Jobs:ShutdownTimeout + 5 s): the next start's recovery takes it for a run cut off")]
    private static partial void LogEndGaveUp(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was canceled, but the {InputTokens} input and {OutputTokens} output tokens its tool had reported were not stored: the database was unavailable ({Reason}); reporting counts none for it")]
    private static partial void LogCanceledTokensLost(ILogger logger, string jobId, long inputTokens, long outputTokens, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} ended {Status} after {ExecutionTimeMs} ms")]
    private static partial void LogFinished(ILogger logger, string jobId, string status, long executionTimeMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended, but what follows its end (its event, its key's slot, or its Hangfire job's state after a forced cancel or another end) failed")]
    private static partial void LogAfterEndFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended {State} in the ledger, but its Hangfire job could not be moved to that state; it is elected in place of Succeeded instead")]
    private static partial void LogEndInHangfireFailed(ILogger logger, Exception exception, string jobId, string state);
}
