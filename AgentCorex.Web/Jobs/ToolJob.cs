using System.ComponentModel;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Shutdown;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The Hangfire job that runs one ledger job. Its argument is the job id; everything else is read from the
/// ledger, which it keeps up to date. A run that completed returns, and Hangfire's worker makes it Succeeded; one
/// that failed, timed out or was canceled moves its Hangfire job to that state itself before returning (see
/// <see cref="EndInHangfire"/>). A run whose job another worker took over meanwhile changes nothing (<see cref="TakenOver"/>).
/// </summary>
/// <remarks>
/// Here the run from start to end; in files beside it: its start (ToolJob.Start.cs), the tool's run with its
/// timeout (ToolJob.RunTool.cs), its end recorded (ToolJob.End.cs), a cut-off run (ToolJob.CutOff.cs), and a run
/// another worker took over (ToolJob.Takeover.cs).
/// </remarks>
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
    ShutdownDeadline shutdown,
    IServiceScopeFactory scopes,
    TimeProvider time,
    ILoggerFactory loggers)
{
    private readonly ILogger logger = loggers.CreateLogger<ToolJob>();

    /// <summary>
    /// The context the tool runs with: what it reported is still known when a cancel stops it, and the run has no
    /// <see cref="JobEnding"/> to carry its tokens.
    /// </summary>
    private ToolExecutionContext? toolContext;

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private TokensUsed TokensReported => toolContext?.Tokens ?? new TokensUsed(0, 0);

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

    private async Task<JobRunSummary> RunLedgerJobAsync(string jobId, string? ownerKeyId, PerformContext perform, CancellationToken cancellationToken)
    {
        // The tool has not run yet, so a start the database could not take is tried again, here and for a while,
        // rather than failing a job that was accepted. Past that patience the job's Hangfire job fails and the ledger
        // keeps it queued, for the repair pass to enqueue again (Jobs:QueuedRepairGrace). Should a start have been
        // stored while its answer was lost, the next try finds the job running under this Hangfire job, started at the
        // time that start wrote: it is this run's (startsSent), not a run cut off.
        var start = await DatabaseFailures.RetryWhileUnavailableAsync(
            () => StartAsync(jobId, ownerKeyId, perform.BackgroundJob.Id, cancellationToken),
            StartPatience, time, e => LogStartWaits(logger, jobId, e.GetBaseException().Message), cancellationToken);
        if (start.Job is not { } job)
        {
            return start.Summary!;
        }
        using var scope = JobLogScope.Begin(logger, job);
        var attempt = job.Attempt;
        metrics.JobStarted(job.Tool, Now - job.CreatedAt);
        LogStarted(logger, jobId, attempt);
        await webhooks.RaiseAsync(job, JobEventNames.Started, start.Raises, CancellationToken.None); // the start is stored

        var cancellation = running.Register(jobId, cancellationToken);
        try
        {
            var ending = await RunToolAsync(job, perform.BackgroundJob.Id, cancellation.Token);
            var endedAt = Now;
            var ended = "job." + ending.Status;
            var raises = await webhooks.PendingAsync(job.OwnerKeyId, ended, CancellationToken.None);
            var stored = UntilStoredAsync(jobId, () => ledger.TryFinishAsync(jobId, attempt, ending, endedAt, raises, CancellationToken.None));
            var summary = new JobRunSummary(ending.Status, ending.ErrorMessage, endedAt, job.TimeoutMs, ending.ExecutionTimeMs);
            if (ledger.AppliesWritesInOrder && !stored.IsCompleted)
            {
                // The end is handed to the ledger, and no later write can be applied before its first try: the worker
                // is free for the next job without waiting for the commit (measured in docs/benchmarks.md). Should that
                // try fail (a full disk), the next ones come after the worker's Succeeded: the repair pass leaves the
                // job alone meanwhile, and a cancel stored between them is shown in Hangfire (AfterEndStoredAsync).
                running.EndInFlight(jobId, attempt);
                _ = AfterEndStoredAsync(job, ending, endedAt, raises, stored, perform.BackgroundJob.Id);
                return summary;
            }
            // Not stored, or stored while its answer was lost (then known by its time, and this run's end all the same).
            if (!await stored && !await ledger.IsEndedAtAsync(jobId, ending.Status, endedAt, attempt))
            {
                return await EndedByAnotherAsync(jobId, attempt, ending.Tokens, perform);
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
                    refused = !await InterruptAsync(job, attempt, perform.BackgroundJob.Id, TokensReported, CancellationToken.None);
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
            var canceledAt = Now;
            if (await UntilStoredAsync(jobId, () => ledger.TryCancelAsync(jobId, attempt, JobCanceler.HangfireState, canceled, TokensReported, canceledAt, CancellationToken.None))
                || await ledger.IsEndedAtAsync(jobId, JobStatus.Canceled, canceledAt, attempt))
            {
                metrics.JobFinished(job.Tool, JobStatus.Canceled);
                await webhooks.RaiseAsync(job, JobEventNames.Canceled, canceled, CancellationToken.None);
                await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
                return await EndedAsync(ledger, jobId);
            }
            return await EndedByAnotherAsync(jobId, attempt, TokensReported, perform);
        }
        finally
        {
            running.Unregister(jobId, cancellation);
            cancellation.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} started, attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, string jobId, int attempt);
}
