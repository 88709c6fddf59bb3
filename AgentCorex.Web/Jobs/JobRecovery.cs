using System.Data.Common;
using AgentCorex.Web.Api;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Keeps the ledger and Hangfire in agreement. At start, when Hangfire's storage forgets on restart (the
/// embedded executor), jobs the ledger holds as queued are enqueued again and jobs cut off while running
/// are re-run (safe to retry, and runs left: <see cref="CutOffEnd"/>) or failed SERVER_RESTARTED. Then, every Jobs:ReconcileInterval, a running
/// job whose Hangfire job has ended or vanished without the ledger hearing of it is treated the same way,
/// and a job queued for longer than Jobs:QueuedRepairGrace with no live Hangfire job known to carry it (its
/// node died between storing it and enqueueing it) is enqueued again, and a canceled job's run that Hangfire was not
/// told of is stopped (<see cref="StopCanceledRunsAsync"/>). Before all that, each pass takes back the
/// jobs whose submits were refused but which could not be removed then (<see cref="AbandonedSubmits"/>).
/// </summary>
internal sealed partial class JobRecovery(
    IServiceScopeFactory scopes,
    JobStorage storage,
    ToolCatalog catalog,
    HangfireExecutor executor,
    HangfireBatchEnqueue batchEnqueue,
    StartRecovery recovery,
    AbandonedSubmits abandoned,
    RunningJobs runningHere,
    AgentCorexMetrics metrics,
    IOptions<JobsOptions> options,
    TimeProvider time,
    ILogger<JobRecovery> logger) : BackgroundLoop
{
    private const int Batch = 500;

    /// <summary>
    /// The last running job of the last pass's page (by started_at, then id): each pass checks the next <see cref="Batch"/>
    /// running jobs, and starts again from the oldest after a page that was not full. 500 jobs that legitimately run for
    /// hours would otherwise fill the page of every pass, and an orphan started after them never be repaired.
    /// </summary>
    private (DateTime StartedAt, string Id)? runningAfter;

    /// <summary>
    /// In StartAsync, not ExecuteAsync: the host starts the web server only after every other hosted service's
    /// StartAsync, so no request is answered (nor /health/ready) before the jobs the last run left are recovered.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (executor.ForgetsOnRestart)
        {
            try
            {
                await RecoverAfterRestartAsync(cancellationToken);
            }
            catch (DbException e)
            {
                // A full disk, say: the jobs the last run left cannot be taken up, and the server must not run without them.
                throw new StartupRefusedException($"the jobs the last run left queued or running cannot be recovered: {e.Message}", e);
            }
        }
        recovery.Ended();
        await base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicWork.RunAsync(() => options.Value.ReconcileInterval, time, atOnce: false, RepairOrphansAsync, e => LogRepairFailed(logger, e),
            new DatabaseOutageLog(logger, "The ledger repair pass"), stoppingToken);

    internal async Task RecoverAfterRestartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var ledger = scope.ServiceProvider.GetRequiredService<JobLedger>();
        var hangfire = scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>();
        var webhooks = scope.ServiceProvider.GetRequiredService<WebhookEvents>();

        var interrupted = await db.Jobs.AsNoTracking().Where(j => j.Status == JobStatus.Running).ToListAsync(cancellationToken);
        foreach (var job in interrupted)
        {
            using var _ = JobLogScope.Begin(logger, job);
            var end = CutOffEnd.For(catalog, options.Value, job.Tool, job.Attempt);
            var failed = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Failed, cancellationToken);
            if (await ledger.TryInterruptAsync(job.Id, job.Attempt, end, failed, cancellationToken) && !end.RunsAgain)
            {
                metrics.JobFinished(job.Tool, JobStatus.Failed);
                await webhooks.RaiseAsync(job, JobEventNames.Failed, failed, CancellationToken.None); // the failure is stored
            }
        }

        // Parked jobs stay parked: they are handed over as their keys' slots free (ParkedJobs sweeps at start).
        // In the ledger's order, a batch at a time: the queue runs them first come, first served.
        var requeued = 0;
        var queued = db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Queued && !j.Parked)
            .OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
            .Select(j => new QueuedJob(j.Id, j.Tool, j.OwnerKeyId))
            .AsAsyncEnumerable();
        var batch = new List<QueuedJob>(Batch);
        await foreach (var job in queued.WithCancellation(cancellationToken))
        {
            batch.Add(job);
            if (batch.Count == Batch)
            {
                batchEnqueue.Enqueue(batch, hangfire);
                requeued += batch.Count;
                batch.Clear();
            }
        }
        batchEnqueue.Enqueue(batch, hangfire);
        requeued += batch.Count;
        if (interrupted.Count + requeued > 0)
        {
            LogRecovered(logger, interrupted.Count, requeued);
        }
    }

    internal async Task RepairOrphansAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var ledger = scope.ServiceProvider.GetRequiredService<JobLedger>();
        var hangfire = scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>();
        var webhooks = scope.ServiceProvider.GetRequiredService<WebhookEvents>();
        var slots = scope.ServiceProvider.GetRequiredService<ExecutionSlots>();

        await abandoned.TakeBackAllAsync(ledger, slots, hangfire, cancellationToken);
        var startedBefore = time.GetUtcNow().UtcDateTime - options.Value.ReconcileGrace;
        var fromStart = runningAfter?.StartedAt;
        var fromId = runningAfter?.Id;
        var running = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Running && j.StartedAt < startedBefore)
            .Where(j => fromId == null || j.StartedAt > fromStart || (j.StartedAt == fromStart && string.Compare(j.Id, fromId) > 0))
            .OrderBy(j => j.StartedAt).ThenBy(j => j.Id)
            .Take(Batch)
            .ToListAsync(cancellationToken);
        runningAfter = running.Count == Batch ? (running[^1].StartedAt!.Value, running[^1].Id) : null;
        using var connection = storage.GetConnection();
        foreach (var job in running)
        {
            var state = job.HangfireId is null ? null : connection.GetStateData(job.HangfireId)?.Name;
            if (WillRun(state))
            {
                continue; // still running, or Hangfire will run it again and the job itself sees the cut-off run
            }
            if (runningHere.IsEnding(job.Id, job.Attempt))
            {
                // Ended here, its Hangfire job Succeeded, its end still being stored (tried again through a write outage):
                // not a run cut off. The embedded database has one node, which knows every such run; on a server database
                // a run's worker waits for its end, and its Hangfire job stays Processing until then.
                continue;
            }
            using var _ = JobLogScope.Begin(logger, job);
            var end = CutOffEnd.For(catalog, options.Value, job.Tool, job.Attempt);
            var failed = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Failed, cancellationToken);
            if (await ledger.TryInterruptAsync(job.Id, job.Attempt, end, failed, cancellationToken))
            {
                if (end.RunsAgain)
                {
                    JobSubmitter.Enqueue(hangfire, job);
                }
                else
                {
                    metrics.JobFinished(job.Tool, JobStatus.Failed);
                    // The failure is stored: a stop now does not leave its event to the webhook sweep
                    // (Webhooks:RepairGrace), nor its key's parked jobs to the next sweep of parked jobs.
                    await webhooks.RaiseAsync(job, JobEventNames.Failed, failed, CancellationToken.None);
                    await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
                }
                LogOrphan(logger, job.Id, state ?? "missing"); // not when the job ended between the two reads: nothing was repaired
            }
        }
        await StopCanceledRunsAsync(db, hangfire, cancellationToken);
        await RepairLostEnqueuesAsync(db, ledger, hangfire, cancellationToken);
    }

    /// <summary>
    /// Runs of jobs the ledger holds as canceled whose Hangfire jobs are still Processing: a forced DELETE that stored
    /// its cancel but could not tell Hangfire (the database gone between the two writes), whose tool ran on, on another
    /// node, until it ended. Each such Hangfire job is moved to Canceled, as the DELETE would have moved it, which fires
    /// the tool's token on whatever node runs it. Read from Hangfire's running jobs, as many as the cluster's workers at
    /// most; a cancel younger than Jobs:ReconcileGrace is left to its DELETE, which tells Hangfire right after it.
    /// </summary>
    private async Task StopCanceledRunsAsync(AgentCorexDb db, IBackgroundJobClient hangfire, CancellationToken cancellationToken)
    {
        var runs = ToolJobsProcessing(storage.GetMonitoringApi());
        var ids = runs.Select(run => run.JobId).ToList();
        var canceledBefore = time.GetUtcNow().UtcDateTime - options.Value.ReconcileGrace;
        var canceled = ids.Count == 0 ? [] : await db.Jobs.AsNoTracking()
            .Where(j => ids.Contains(j.Id) && j.Status == JobStatus.Canceled && j.CompletedAt < canceledBefore)
            .ToDictionaryAsync(j => j.Id, j => j.ErrorMessage, cancellationToken);
        foreach (var (hangfireId, jobId) in runs)
        {
            if (canceled.TryGetValue(jobId, out var reason)
                && hangfire.ChangeState(hangfireId, new CanceledState(time.GetUtcNow().UtcDateTime, reason), ProcessingState.StateName))
            {
                LogCanceledRunStopped(logger, jobId, hangfireId);
            }
        }
    }

    /// <summary>
    /// A queued job's Hangfire id is unknown until a worker starts it, so which job is lost cannot be told from
    /// the ledger alone. How many can: the ledger's queued jobs (not parked) that Hangfire's queue of tool jobs and
    /// the runs it is starting cannot account for (<see cref="StartingAsync"/>). Up to that many of the oldest jobs past
    /// the grace get a new Hangfire job, recorded in the ledger (the next pass checks that one instead of enqueueing
    /// again), so a deep but sound queue gets none. Should the first Hangfire job of one exist after all, whichever runs
    /// first starts the job and the other finds it started (see <see cref="ToolJob"/>); a lost job behind such a one is
    /// found once the queue has drained past it, as is one behind the Hangfire job of a job canceled while queued (it
    /// stays in the queue until a worker reaches it and finds the job ended).
    /// </summary>
    private async Task RepairLostEnqueuesAsync(AgentCorexDb db, JobLedger ledger, IBackgroundJobClient hangfire, CancellationToken cancellationToken)
    {
        var queuedBefore = time.GetUtcNow().UtcDateTime - options.Value.QueuedRepairGrace;
        var waiting = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Queued && !j.Parked && j.CreatedAt < queuedBefore)
            .OrderBy(j => j.CreatedAt).ThenBy(j => j.Id)
            .Take(Batch)
            .ToListAsync(cancellationToken);
        if (waiting.Count == 0)
        {
            return;
        }
        var monitoring = storage.GetMonitoringApi();
        var countedAt = time.GetUtcNow().UtcDateTime;
        var inLedger = await db.Jobs.CountAsync(j => j.Status == JobStatus.Queued && !j.Parked, cancellationToken);
        var lost = inLedger - (monitoring.EnqueuedCount(EnqueuedState.DefaultQueue) + await StartingAsync(db, monitoring, countedAt, cancellationToken));
        using var connection = storage.GetConnection();
        foreach (var job in waiting)
        {
            if (lost <= 0)
            {
                return;
            }
            var state = job.HangfireId is null ? null : connection.GetStateData(job.HangfireId)?.Name;
            if (WillRun(state))
            {
                continue;
            }
            cancellationToken.ThrowIfCancellationRequested(); // a stop ends the pass before an enqueue, not between it and its record
            using var _ = JobLogScope.Begin(logger, job);
            var hangfireId = JobSubmitter.Enqueue(hangfire, job);
            lost--;
            // Not recorded when the job started, ended or was repaired by another node meanwhile: the new Hangfire
            // job then finds it so and ends (deleting it here could cancel it, should it have started the job).
            // Recorded despite a stop: unrecorded, the next pass cannot tell its new Hangfire job carries it and may
            // enqueue it again in place of another lost job.
            if (await ledger.TryRecordRequeueAsync(job.Id, job.HangfireId, hangfireId, CancellationToken.None))
            {
                LogLostEnqueue(logger, job.Id, state ?? "none known");
            }
        }
    }

    /// <summary>
    /// The jobs Hangfire is processing that the ledger's count of queued jobs, taken at <paramref name="countedAt"/>, took as
    /// queued: tool jobs a worker is starting (the ledger not told yet) or has started since. Not Hangfire's whole
    /// Processing count: that holds the webhook deliveries being sent (the same storage, their own queue) and the runs of
    /// jobs the ledger already had running, each of which hid a lost job. Read from Hangfire's running jobs, which are
    /// as many as the cluster's workers at most.
    /// </summary>
    private static async Task<long> StartingAsync(AgentCorexDb db, IMonitoringApi monitoring, DateTime countedAt, CancellationToken cancellationToken)
    {
        var ids = ToolJobsProcessing(monitoring).Select(run => run.JobId).ToList();
        return ids.Count == 0 ? 0 : await db.Jobs.CountAsync(
            j => ids.Contains(j.Id) && ((j.Status == JobStatus.Queued && !j.Parked) || j.StartedAt >= countedAt), cancellationToken);
    }

    /// <summary>The tool jobs Hangfire is processing, each with the ledger job it carries (as many as the cluster's workers at most).</summary>
    private static List<(string HangfireId, string JobId)> ToolJobsProcessing(IMonitoringApi monitoring)
    {
        var processing = monitoring.ProcessingCount();
        return processing == 0 ? [] : [.. monitoring.ProcessingJobs(0, (int)processing)
            .Where(entry => entry.Value?.Job is { } job && job.Type == typeof(ToolJob) && job.Args.Count > 0 && job.Args[0] is string)
            .Select(entry => (entry.Key, (string)entry.Value.Job.Args[0]))];
    }

    /// <summary>A Hangfire job in this state is running, or will run.</summary>
    private static bool WillRun(string? state) =>
        state == ProcessingState.StateName || state == EnqueuedState.StateName || state == ScheduledState.StateName || state == AwaitingState.StateName;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was queued with no live Hangfire job (Hangfire job: {State}): enqueued again")]
    private static partial void LogLostEnqueue(ILogger logger, string jobId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered after restart: {Interrupted} job(s) had been cut off while running, {Requeued} queued job(s) enqueued again")]
    private static partial void LogRecovered(ILogger logger, int interrupted, int requeued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was running in the ledger, but its Hangfire job is {State}: repaired")]
    private static partial void LogOrphan(ILogger logger, string jobId, string state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was canceled, but its Hangfire job {HangfireId} was still Processing (its cancel could not tell Hangfire): moved to Canceled, which stops its tool")]
    private static partial void LogCanceledRunStopped(ILogger logger, string jobId, string hangfireId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The ledger repair pass failed; it will run again")]
    private static partial void LogRepairFailed(ILogger logger, Exception exception);
}
