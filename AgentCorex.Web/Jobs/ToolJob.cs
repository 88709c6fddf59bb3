using System.ComponentModel;
using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Hangfire.Server;
using Hangfire.States;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The Hangfire job that runs one ledger job. Its argument is the job id; everything else is read from the
/// ledger, which it keeps up to date. A run that completed returns, and Hangfire's worker makes it Succeeded; one
/// that failed, timed out or was canceled moves its Hangfire job to that state itself before returning (see
/// <see cref="EndInHangfire"/>). A run whose job another worker took over meanwhile changes nothing (<see cref="TakenOver"/>).
/// </summary>
public sealed partial class ToolJob(
    JobLedger ledger,
    ToolCatalog catalog,
    ToolRunner runner,
    RunningJobs running,
    ExecutionSlots slots,
    JobStorage storage,
    WebhookEvents webhooks,
    AgentCorexMetrics metrics,
    IOptions<JobsOptions> options,
    IBackgroundJobClient hangfire,
    IHostApplicationLifetime lifetime,
    IServiceScopeFactory scopes,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger logger = loggers.CreateLogger<ToolJob>();

    [DisplayName("{1} {0}")]
    public async Task<JobRunSummary> RunAsync(string jobId, string tool, string? ownerKeyId, PerformContext? perform, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(perform);
        var summary = await RunLedgerJobAsync(jobId, ownerKeyId, perform, cancellationToken);
        EndInHangfire(jobId, perform.BackgroundJob.Id, summary);
        return summary;
    }

    /// <summary>As Hangfire jobs were enqueued before the owner was one of their arguments.</summary>
    [DisplayName("{1} {0}")]
    public Task<JobRunSummary> RunAsync(string jobId, string tool, PerformContext? perform, CancellationToken cancellationToken) =>
        RunAsync(jobId, tool, ownerKeyId: null, perform, cancellationToken);

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

    private async Task<JobRunSummary> RunLedgerJobAsync(string jobId, string? ownerKeyId, PerformContext perform, CancellationToken cancellationToken)
    {
        // The tool has not run yet, so a start the database could not take is tried again, here and for a while,
        // rather than failing a job that was accepted. Past that patience the job's Hangfire job fails and the ledger
        // keeps it queued, for the repair pass to enqueue again (Jobs:QueuedRepairGrace). Should a start have been
        // stored while its answer was lost, the next try finds the job running under this Hangfire job and takes it
        // for a run that was cut off: run again if its tool is safe to retry, else failed SERVER_RESTARTED.
        var start = await DatabaseFailures.RetryWhileUnavailableAsync(
            () => StartAsync(jobId, ownerKeyId, perform.BackgroundJob.Id, cancellationToken),
            StartPatience, time, e => LogStartWaits(logger, jobId, e.GetBaseException().Message), cancellationToken);
        if (start.Job is not { } job)
        {
            return start.Summary!;
        }
        using var scope = JobLogScope.Begin(logger, job);
        var attempt = job.Attempt;
        metrics.JobStarted(job.Tool, time.GetUtcNow().UtcDateTime - job.CreatedAt);
        LogStarted(logger, jobId, attempt);
        await webhooks.RaiseAsync(job, JobEventNames.Started, start.Raises, cancellationToken);

        var cancellation = running.Register(jobId, cancellationToken);
        try
        {
            var ending = await RunToolAsync(job, perform.BackgroundJob.Id, cancellation.Token);
            var endedAt = time.GetUtcNow().UtcDateTime;
            var ended = "job." + ending.Status;
            var raises = await webhooks.PendingAsync(job.OwnerKeyId, ended, CancellationToken.None);
            var stored = UntilStoredAsync(jobId, () => ledger.TryFinishAsync(jobId, attempt, ending, endedAt, raises, CancellationToken.None));
            var summary = new JobRunSummary(ending.Status, ending.ErrorMessage, job.TimeoutMs, ending.ExecutionTimeMs);
            if (ledger.AppliesWritesInOrder && !stored.IsCompleted)
            {
                // The end is handed to the ledger, and no later write can be applied before it: the worker is free
                // for the next job without waiting for the commit (measured in docs/benchmarks.md).
                _ = AfterEndStoredAsync(job, ending, endedAt, raises, stored, perform.BackgroundJob.Id);
                return summary;
            }
            if (!await stored)
            {
                return await EndedByAnotherAsync(jobId, attempt, perform);
            }
            await AfterEndAsync(webhooks, slots, job, ending, endedAt, raises);
            return summary;
        }
        // Not the JobAbortedException of a run taken over (EndedByAnotherAsync): that one ends the run as it is.
        catch (OperationCanceledException stop) when (stop is not JobAbortedException && (cancellationToken.IsCancellationRequested || cancellation.IsCancellationRequested))
        {
            if (IsCutOff(perform, cancellationToken))
            {
                // Its server is stopping or restarting: leave the job as the restart rules say, and let Hangfire see
                // the stop, so that it requeues the job (Hangfire's worker requeues a job that throws as its server
                // stops); unless the ledger refused the cut-off because another worker took the job over meanwhile.
                bool refused;
                try
                {
                    refused = !await InterruptAsync(job, attempt, CancellationToken.None);
                }
                catch (Exception e)
                {
                    // The run is found cut off when the job runs again (StartAsync), and settled then.
                    LogInterruptNotStored(logger, DatabaseFailures.IsUnavailable(e) ? null : e, jobId, e.GetBaseException().Message);
                    refused = false;
                }
                if (refused && await IsTakenOverAsync(ledger, jobId, attempt, perform))
                {
                    throw TakenOver(jobId, attempt);
                }
                if (lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    LogCutOff(logger, jobId);
                }
                else
                {
                    LogCutOffByRestart(logger, jobId, perform.ServerId);
                }
                throw;
            }
            // The job was canceled: a forced DELETE here, or its Hangfire state changed elsewhere; unless that change
            // was another worker's taking the job over.
            if (await IsTakenOverAsync(ledger, jobId, attempt, perform))
            {
                throw TakenOver(jobId, attempt);
            }
            var canceled = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Canceled, CancellationToken.None);
            if (await UntilStoredAsync(jobId, () => ledger.TryCancelAsync(jobId, attempt, JobCanceler.HangfireState, canceled, CancellationToken.None)))
            {
                metrics.JobFinished(job.Tool, JobStatus.Canceled);
                await webhooks.RaiseAsync(job, JobEventNames.Canceled, canceled, CancellationToken.None);
                await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
                return new JobRunSummary(JobStatus.Canceled, await CancelReasonAsync(ledger, jobId));
            }
            return await EndedByAnotherAsync(jobId, attempt, perform);
        }
        finally
        {
            running.Unregister(jobId, cancellation);
            cancellation.Dispose();
        }
    }

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
        hangfireToken.IsCancellationRequested && HangfireTokenOf(perform) == HangfireToken.Stopped;

    /// <summary>What the Hangfire job token says (reading the job's state only when it has not fired).</summary>
    private static HangfireToken HangfireTokenOf(PerformContext perform)
    {
        try
        {
            perform.CancellationToken.ThrowIfCancellationRequested();
        }
        catch (JobAbortedException)
        {
            return HangfireToken.Aborted;
        }
        catch (OperationCanceledException)
        {
            return HangfireToken.Stopped;
        }
        return HangfireToken.Live; // or not a Hangfire server's token (one a test made): taken for a cancel
    }

    private enum HangfireToken
    {
        Live,

        /// <summary>The job's state is no longer Processing under this worker.</summary>
        Aborted,

        /// <summary>Its server is stopping or restarting.</summary>
        Stopped,
    }

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
        var aborted = HangfireTokenOf(perform) == HangfireToken.Aborted;
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
    /// ledger says who), or a takeover by another worker (<see cref="IsTakenOverAsync"/>), which ends this run as it is.
    /// </summary>
    private async Task<JobRunSummary> EndedByAnotherAsync(string jobId, int attempt, PerformContext perform) =>
        await IsTakenOverAsync(ledger, jobId, attempt, perform)
            ? throw TakenOver(jobId, attempt)
            : new JobRunSummary(JobStatus.Canceled, await CancelReasonAsync(ledger, jobId));

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
    /// The rest of a run whose worker went on before its end was committed. An end that was not stored lost to a forced
    /// cancel handed to the ledger before it: the ledger says canceled, while Hangfire may already show this run's end
    /// (the cancel moves the Hangfire job from Processing only), so the Hangfire job is made Canceled from any state.
    /// It runs in a scope of its own: the Hangfire job's scope, this job's, ends as the worker goes on.
    /// </summary>
    private async Task AfterEndStoredAsync(JobEntry job, JobEnding ending, DateTime endedAt, int raises, Task<bool> stored, string hangfireId)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            if (await stored)
            {
                await AfterEndAsync(
                    scope.ServiceProvider.GetRequiredService<WebhookEvents>(), scope.ServiceProvider.GetRequiredService<ExecutionSlots>(),
                    job, ending, endedAt, raises);
                return;
            }
            var jobs = scope.ServiceProvider.GetRequiredService<JobLedger>();
            if (await IsTakenOverAsync(jobs, job.Id, job.Attempt, perform: null))
            {
                LogTakenOver(logger, job.Id, job.Attempt);
                return;
            }
            var reason = await CancelReasonAsync(jobs, job.Id);
            hangfire.ChangeState(hangfireId, new CanceledState(reason), expectedState: null);
        }
        catch (Exception e)
        {
            LogAfterEndFailed(logger, e, job.Id);
        }
    }

    /// <summary>
    /// Stores how a run ended, trying again while the database is unavailable: the outcome exists only in this
    /// process until then, and a run the ledger still holds as running is otherwise failed by the repair pass as cut
    /// off. Only the server's stopping ends the trying (a write under way is not cut short), so that a node stopped
    /// during an outage exits promptly; the restart's recovery then takes the job as cut off. (Which events the
    /// write marks pending is asked before: <see cref="WebhookEvents.PendingAsync"/> answers even without a database.)
    /// </summary>
    private Task<bool> UntilStoredAsync(string jobId, Func<Task<bool>> write) =>
        DatabaseFailures.RetryWhileUnavailableAsync(write, TimeSpan.MaxValue, time, e => LogEndWaits(logger, jobId, e.GetBaseException().Message), lifetime.ApplicationStopping);

    /// <summary>
    /// Moves the job from queued to running under this Hangfire job. The common case is one statement: the job is
    /// queued and starts. Anything else reads the job first: a run cut off by a dead node (interrupted, then
    /// started again if its tool is safe to retry), a second Hangfire job for it, a job already ended or canceled,
    /// a revoked key's job (canceled here).
    /// </summary>
    private async Task<JobStart> StartAsync(string jobId, string? ownerKeyId, string hangfireId, CancellationToken cancellationToken)
    {
        if (ownerKeyId is not null)
        {
            var raises = await webhooks.PendingAsync(ownerKeyId, JobEventNames.Started, cancellationToken);
            if (await ledger.TryStartQueuedAsync(jobId, hangfireId, raises, cancellationToken) is { } started)
            {
                return JobStart.Started(started, raises);
            }
        }

        var job = await ledger.FindAsync(jobId, cancellationToken);
        if (job is null)
        {
            LogMissing(logger, jobId);
            return JobStart.NotStarted(new JobRunSummary(JobStatus.Failed, "The job is not in the ledger"));
        }
        using var scope = JobLogScope.Begin(logger, job);
        if (job.Status == JobStatus.Running && job.HangfireId != hangfireId)
        {
            // A second Hangfire job for it (the repair of a lost enqueue) found the first one running it.
            return JobStart.NotStarted(JobRunSummary.Duplicate(job));
        }
        if (job.Status == JobStatus.Running)
        {
            // Hangfire runs it again after its node died: the run before this one was cut off.
            await InterruptAsync(job, job.Attempt, cancellationToken);
            job = await ledger.FindAsync(jobId, cancellationToken) ?? job;
        }
        if (job.Status != JobStatus.Queued)
        {
            return JobStart.NotStarted(Ended(job, hangfireId));
        }

        var attempt = job.Attempt + 1;
        var startedRaises = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Started, cancellationToken);
        var startedAt = time.GetUtcNow().UtcDateTime;
        if (await ledger.TryStartAsync(jobId, hangfireId, attempt, startedAt, startedRaises, cancellationToken))
        {
            job.Status = JobStatus.Running;
            job.Attempt = attempt;
            job.StartedAt = startedAt;
            return JobStart.Started(job, startedRaises);
        }
        var now = await ledger.FindAsync(jobId, cancellationToken);
        var canceled = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Canceled, cancellationToken);
        if (now?.Status == JobStatus.Queued && await ledger.TryCancelAsync(jobId, JobStatus.Queued, JobCanceler.Revocation, canceled, cancellationToken))
        {
            // Still queued, so its key was revoked: a revoked key's jobs never start.
            LogCanceledAtStart(logger, jobId, job.OwnerKeyId);
            metrics.JobFinished(job.Tool, JobStatus.Canceled);
            await webhooks.RaiseAsync(job, JobEventNames.Canceled, canceled, cancellationToken);
            await slots.OnSlotFreedAsync(job.OwnerKeyId, cancellationToken);
            return JobStart.NotStarted(new JobRunSummary(JobStatus.Canceled, JobCanceler.Revocation.Reason(JobStatus.Queued)));
        }
        return JobStart.NotStarted(now is null ? new JobRunSummary(JobStatus.Canceled, null) : Ended(now, hangfireId));
    }

    /// <summary>
    /// A job that was no longer queued when this Hangfire job came to start it: this Hangfire job's own outcome when it
    /// carries the job (a run it began before its node died, say), else that of a second Hangfire job.
    /// </summary>
    private static JobRunSummary Ended(JobEntry job, string hangfireId) =>
        job.HangfireId is { } carrier && carrier != hangfireId ? JobRunSummary.Duplicate(job) : new JobRunSummary(job.Status, job.ErrorMessage);

    /// <summary>A started job and the events its start marked pending; or, when it did not start, what the run ends with.</summary>
    private sealed record JobStart(JobEntry? Job, int Raises, JobRunSummary? Summary)
    {
        public static JobStart Started(JobEntry job, int raises) => new(job, raises, null);

        public static JobStart NotStarted(JobRunSummary summary) => new(null, 0, summary);
    }

    /// <summary>A timed-out job's <c>error.details</c>: the limit it ran past.</summary>
    private sealed record TimeoutDetails(long TimeoutMs);

    /// <summary>
    /// A cut-off run: back to the queue when its tool is safe to retry, else failed (and that is an event). False when
    /// the job was no longer running in that attempt.
    /// </summary>
    private async Task<bool> InterruptAsync(JobEntry job, int attempt, CancellationToken cancellationToken)
    {
        var requeue = catalog.IsSafeToRetry(job.Tool);
        var failed = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Failed, cancellationToken);
        var interrupted = await ledger.TryInterruptAsync(job.Id, attempt, requeue, failed, cancellationToken);
        if (interrupted && !requeue)
        {
            metrics.JobFinished(job.Tool, JobStatus.Failed);
            await webhooks.RaiseAsync(job, JobEventNames.Failed, failed, cancellationToken);
            await slots.OnSlotFreedAsync(job.OwnerKeyId, cancellationToken);
        }
        return interrupted;
    }

    private async Task<JobEnding> RunToolAsync(JobEntry job, string hangfireId, CancellationToken cancellationToken)
    {
        var tool = catalog.Find(job.Tool);
        if (tool is null)
        {
            return new JobEnding(JobStatus.Failed, 0, ErrorCode: "TOOL_NOT_FOUND", ErrorMessage: $"Tool {job.Tool} does not exist");
        }
        object arguments;
        try
        {
            using var document = JsonDocument.Parse(job.Arguments);
            arguments = await ArgumentBinder.BindAsync(tool, document.RootElement, cancellationToken);
        }
        catch (ApiException invalid)
        {
            // Only when the tool changed between submit and run: its arguments were valid then.
            return new JobEnding(JobStatus.Failed, 0, ErrorCode: invalid.Error.Code, ErrorMessage: invalid.Error.Message);
        }

        await using var progress = new JobProgressPublisher(storage, hangfireId, options.Value.ProgressInterval, time, logger);
        var context = new ToolExecutionContext(job.Id, tool.Logger) { ProgressReported = progress.Report };
        var outcome = await runner.RunAsync(tool, arguments, context, TimeSpan.FromMilliseconds(job.TimeoutMs), cancellationToken);
        var tokens = context.Tokens;
        return outcome.Kind switch
        {
            ToolOutcomeKind.Succeeded => new JobEnding(
                JobStatus.Completed, outcome.ExecutionTimeMs,
                Result: outcome.Result!.ToString(),
                TokensInput: tokens.Input, TokensOutput: tokens.Output),
            ToolOutcomeKind.TimedOut => new JobEnding(
                JobStatus.Timeout, outcome.ExecutionTimeMs,
                ErrorCode: "EXECUTION_TIMEOUT", ErrorMessage: $"Tool execution exceeded {job.TimeoutMs}ms timeout",
                ErrorDetails: JsonSerializer.Serialize(new TimeoutDetails(job.TimeoutMs), ApiJson.Options),
                TokensInput: tokens.Input, TokensOutput: tokens.Output),
            _ => new JobEnding(
                JobStatus.Failed, outcome.ExecutionTimeMs,
                ErrorCode: "EXECUTION_ERROR", ErrorMessage: outcome.ErrorMessage,
                ErrorDetails: JsonSerializer.Serialize(outcome.ErrorDetailsWithToolCode(), ApiJson.Options),
                TokensInput: tokens.Input, TokensOutput: tokens.Output),
        };
    }

    /// <summary>
    /// Why a run that a cancel ended first counts as canceled, for its Hangfire state: the cancel's message in the ledger,
    /// which says who canceled it (<see cref="JobCanceler"/>). Read after the cancel was stored; a database that cannot be
    /// read now costs only the name of who canceled.
    /// </summary>
    private static async Task<string> CancelReasonAsync(JobLedger ledger, string jobId)
    {
        try
        {
            return (await ledger.FindAsync(jobId, CancellationToken.None))?.ErrorMessage ?? JobCanceler.Unknown;
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            return JobCanceler.Unknown;
        }
    }

    /// <summary>How long a job's start is tried again while the database is unavailable, holding its worker.</summary>
    private static readonly TimeSpan StartPatience = TimeSpan.FromMinutes(1);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} could not be started in the ledger, the database being unavailable ({Reason}): trying again for up to a minute")]
    private static partial void LogStartWaits(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended, but the database is unavailable to store it ({Reason}): trying again until it is")]
    private static partial void LogEndWaits(ILogger logger, string jobId, string reason);

    // As the revocation's own line, for a job handed to Hangfire by a node that had not heard of it yet.
    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} canceled by the revocation of its API key {KeyId} before it started")]
    private static partial void LogCanceledAtStart(ILogger logger, string jobId, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hangfire started job {JobId}, which the ledger does not have")]
    private static partial void LogMissing(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} started, attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, string jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} ended {Status} after {ExecutionTimeMs} ms")]
    private static partial void LogFinished(ILogger logger, string jobId, string status, long executionTimeMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended {State} in the ledger, but its Hangfire job could not be moved to that state; it is elected in place of Succeeded instead")]
    private static partial void LogEndInHangfireFailed(ILogger logger, Exception exception, string jobId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended, but what follows its end (its event, its key's slot, or its Hangfire job's state after a forced cancel) failed")]
    private static partial void LogAfterEndFailed(ILogger logger, Exception exception, string jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} was taken over by a newer attempt on another worker while its attempt {Attempt} ran here (this node stalled past Jobs:InvisibilityTimeout, say): this run ends without changing the job")]
    private static partial void LogTakenOver(ILogger logger, string jobId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was still running when the server's shutdown timeout ran out: cut off")]
    private static partial void LogCutOff(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was cut off: its Hangfire server {ServerId} restarted (it could not write its heartbeat for Jobs:ServerTimeout, or another node took it for dead and removed it)")]
    private static partial void LogCutOffByRestart(ILogger logger, string jobId, string? serverId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was cut off, but the ledger could not record it ({Reason}): it is settled when the job runs again")]
    private static partial void LogInterruptNotStored(ILogger logger, Exception? exception, string jobId, string reason);
}
