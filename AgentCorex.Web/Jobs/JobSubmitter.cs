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
    public async Task<SubmittedJobResponse> SubmitAsync(
        ApiKeyIdentity owner, string toolName, JsonElement arguments, int timeoutMs, CancellationToken cancellationToken)
    {
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
        };
        using var scope = JobLogScope.Begin(logger, job);
        job.EventsPending = await webhooks.PendingAsync(owner.KeyId, JobEventNames.Queued, cancellationToken);
        if (await slots.AdmitAsync(job, owner, cancellationToken))
        {
            try
            {
                Enqueue(hangfire, job);
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

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId} submitted, timeout {TimeoutMs} ms")]
    private static partial void LogSubmitted(ILogger logger, string jobId, int timeoutMs);
}
