using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Tools;
using AgentCorex.Web.Webhooks;
using System.Reflection;
using Hangfire;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Accepts a job: the tool and its arguments are validated before anything is stored, the ledger row is
/// committed before Hangfire sees the job (so a 202 is never lost), then it is enqueued, unless its key is
/// at its limit of executions at once: then it is parked until a slot frees (see <see cref="ExecutionSlots"/>).
/// </summary>
public sealed partial class JobSubmitter(
    ToolCatalog catalog,
    JobLedger ledger,
    ExecutionSlots slots,
    JobEstimates estimates,
    IBackgroundJobClient hangfire,
    WebhookEvents webhooks,
    AbandonedSubmits abandoned,
    AgentCorexMetrics metrics,
    TimeProvider time,
    ILogger<JobSubmitter> logger)
{
    /// <param name="idempotencyKey">
    /// The submit's Idempotency-Key, or null: with one, a job of the owner submitted with it before is answered again
    /// (<see cref="SubmittedJobResponse.Replayed"/>) instead of a new one made (<see cref="IdempotencyKeys"/>).
    /// </param>
    public async Task<SubmittedJobResponse> SubmitAsync(
        ApiKeyIdentity owner, string toolName, JsonElement arguments, int timeoutMs, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // Before the tool is looked up: a retry is answered its job even if the tool was removed since.
        if (idempotencyKey is not null && await ledger.FindByIdempotencyKeyAsync(owner.KeyId, idempotencyKey, cancellationToken) is { } earlier)
        {
            return await ReplayAsync(earlier, idempotencyKey, toolName, arguments, timeoutMs, cancellationToken);
        }
        var tool = catalog.Find(toolName) ?? throw ApiErrors.ToolNotFound(toolName);
        await ArgumentBinder.BindAsync(tool, arguments, cancellationToken);

        var job = new JobEntry
        {
            Id = ExecutionIds.New("job_"),
            OwnerKeyId = owner.KeyId,
            Tool = tool.Name,
            Arguments = CompactJson.Write(arguments),
            Status = JobStatus.Queued,
            TimeoutMs = timeoutMs,
            CreatedAt = time.GetUtcNow().UtcDateTime,
            IdempotencyKey = idempotencyKey,
        };
        using var scope = JobLogScope.Begin(logger, job);
        job.EventsPending = await webhooks.PendingAsync(owner.KeyId, JobEventNames.Queued, cancellationToken);
        bool? admitted;
        try
        {
            admitted = await slots.AdmitAsync(job, owner, cancellationToken);
        }
        catch (Exception e) when (idempotencyKey is not null && IdempotencyKeys.IsDuplicate(e))
        {
            // A submit with the same key committed its job first: this one stored nothing, and answers that job.
            var first = await ledger.FindByIdempotencyKeyAsync(owner.KeyId, idempotencyKey, cancellationToken);
            if (first is null)
            {
                throw;
            }
            return await ReplayAsync(first, idempotencyKey, tool.Name, arguments, timeoutMs, cancellationToken);
        }
        if (admitted is null)
        {
            // At Jobs:MaxQueuedPerKey. A submit with the same key may have made its job since the look above: that job
            // took the last place, and is this submit's answer too.
            if (idempotencyKey is not null && await ledger.FindByIdempotencyKeyAsync(owner.KeyId, idempotencyKey, cancellationToken) is { } first)
            {
                return await ReplayAsync(first, idempotencyKey, tool.Name, arguments, timeoutMs, cancellationToken);
            }
            throw slots.QueueFull(owner);
        }
        if (admitted.Value)
        {
            try
            {
                Enqueue(hangfire, job);
            }
            catch when (idempotencyKey is not null)
            {
                // Not taken back: a retry with the key is answered this job, maybe already (a retry racing this submit).
                abandoned.KeepToHandOver(job);
                throw;
            }
            catch
            {
                await TakeBackAsync(job);
                throw;
            }
        }
        metrics.JobSubmitted(job.Tool);
        LogSubmitted(logger, job.Id, job.TimeoutMs);
        // The job is stored: a client gone now does not leave its event to the webhook sweep (Webhooks:RepairGrace).
        await webhooks.RaiseAsync(job, JobEventNames.Queued, job.EventsPending, CancellationToken.None);
        return new SubmittedJobResponse(job.Id, job.Status, job.Tool, job.CreatedAt.ToUnixSeconds(), await estimates.EstimateMsAsync(tool, cancellationToken));
    }

    /// <summary>
    /// A retried submit: the job its key made first, answered as that submit was (queued, its time of creation; the
    /// estimate as it is now), if this one asks for the same run; 422 if not.
    /// </summary>
    private async Task<SubmittedJobResponse> ReplayAsync(JobEntry earlier, string idempotencyKey, string toolName, JsonElement arguments, int timeoutMs, CancellationToken cancellationToken)
    {
        var tool = catalog.Find(toolName);
        if (!IdempotencyKeys.SameSubmit(earlier, tool?.Name ?? toolName, arguments, timeoutMs))
        {
            throw IdempotencyKeys.Reused(idempotencyKey, earlier.Id);
        }
        // Its submit failed to hand it to Hangfire (and was answered so): handed over now, or 503 again.
        abandoned.HandOverNow(earlier.Id, hangfire);
        LogReplayed(logger, earlier.Id, earlier.OwnerKeyId);
        var estimate = tool is null ? 0L : await estimates.EstimateMsAsync(tool, cancellationToken);
        return new SubmittedJobResponse(earlier.Id, JobStatus.Queued, earlier.Tool, earlier.CreatedAt.ToUnixSeconds(), estimate) { Replayed = true };
    }

    /// <summary>The client is told it failed: the job must not linger in the ledger as queued, to be run by a repair later.</summary>
    private async Task TakeBackAsync(JobEntry job)
    {
        bool removed;
        try
        {
            removed = await ledger.RemoveAsync(job.Id, CancellationToken.None);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            abandoned.Add(job);
            LogTakeBackDeferred(logger, job.Id);
            return;
        }
        if (removed)
        {
            await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
        }
    }

    /// <summary>
    /// Hands the job to Hangfire. The same job as <c>Enqueue&lt;ToolJob&gt;(run => run.RunAsync(...))</c> stores,
    /// made without building and evaluating an expression tree for each job (a profile found it on the submit path).
    /// </summary>
    public static string Enqueue(IBackgroundJobClient hangfire, JobEntry job) => Enqueue(hangfire, new QueuedJob(job.Id, job.Tool, job.OwnerKeyId));

    /// <summary>The same, of a job known by what Hangfire runs it with.</summary>
    internal static string Enqueue(IBackgroundJobClient hangfire, QueuedJob job) => hangfire.Create(HangfireJob(job), new EnqueuedState());

    /// <summary>What Hangfire runs for a job: <see cref="ToolJob.RunAsync"/> with its id, tool and owner.</summary>
    internal static Job HangfireJob(QueuedJob job) =>
        new(typeof(ToolJob), RunAsync, job.Id, job.Tool, job.OwnerKeyId, null, CancellationToken.None);

    private static readonly MethodInfo RunAsync = typeof(ToolJob).GetMethod(
        nameof(ToolJob.RunAsync), [typeof(string), typeof(string), typeof(string), typeof(PerformContext), typeof(CancellationToken)])!;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was refused but could not be taken out of the ledger; the next repair pass removes it")]
    private static partial void LogTakeBackDeferred(ILogger logger, string jobId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} answered again to a submit of {KeyId} with its Idempotency-Key")]
    private static partial void LogReplayed(ILogger logger, string jobId, string keyId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} submitted, timeout {TimeoutMs} ms")]
    private static partial void LogSubmitted(ILogger logger, string jobId, int timeoutMs);
}
