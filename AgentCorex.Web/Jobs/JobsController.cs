using System.ComponentModel;
using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using FluentValidation;
using Hangfire;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

[ApiController]
[Route("jobs")]
public sealed partial class JobsController(JobLedger ledger, AgentCorexDb db, IOptions<JobsOptions> options) : ControllerBase
{
    public const string SubmitRoute = "submit";

    private ApiKeyIdentity Caller => ApiKeyIdentity.From(User);

    [HttpPost(SubmitRoute, Name = "submitJob")]
    [EndpointSummary("Submit a tool run as a background job")]
    [RateLimits.ExecutionRateLimit]
    [ProducesResponseType<SubmittedJobResponse>(StatusCodes.Status202Accepted, "application/json")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status404NotFound, "application/json", Description = "TOOL_NOT_FOUND")]
    [ProducesResponseType<IdempotencyKeyReusedEnvelope>(StatusCodes.Status422UnprocessableEntity, "application/json", Description = IdempotencyKeys.ReusedDescription)]
    public async Task<IActionResult> Submit(
        SubmitJobRequest request,
        // Bound for the OpenAPI document; IdempotencyKeys.Read reads the header's every value.
        [FromHeader(Name = IdempotencyKeys.Header), Description(IdempotencyKeys.HeaderDescription)] string? idempotencyKey,
        [FromServices] IValidator<SubmitJobRequest> validator,
        [FromServices] JobSubmitter submitter,
        CancellationToken cancellationToken)
    {
        try
        {
            validator.ValidateOrThrow(request);
            var submitted = await submitter.SubmitAsync(
                Caller, request.Tool!, request.Arguments!.Value, request.TimeoutMs ?? options.Value.DefaultTimeoutMs,
                IdempotencyKeys.Read(Request), cancellationToken);
            return this.AcceptedJob(submitted);
        }
        catch (Exception e) when (e.AnswerFor(request.Tool) is { } answer)
        {
            throw answer; // as POST /execute_tool answers, and it with mode "async"
        }
    }

    /// <summary>
    /// Another method on /jobs/submit: the submit route asked wrongly, 405 with <c>Allow: POST</c>, not a job named
    /// "submit" (GET, DELETE) or a route that also took GET and DELETE (PUT, PATCH).
    /// </summary>
    [AcceptVerbs("GET", "DELETE", "PUT", "PATCH", Route = SubmitRoute)]
    [ApiExplorerSettings(IgnoreApi = true)]
    public async Task<EmptyResult> SubmitWithAnotherMethod(CancellationToken cancellationToken)
    {
        await ApiExceptionHandler.WriteMethodNotAllowedAsync(HttpContext, HttpMethods.Post, cancellationToken);
        return new EmptyResult();
    }

    [HttpGet("{job_id}", Name = "getJob")]
    [EndpointSummary("Read a job: its status, progress, and result or error")]
    public async Task<JobResponse> Get([FromRoute(Name = "job_id")] string jobId, [FromServices] JobView view, CancellationToken cancellationToken) =>
        await view.ReadAsync(await FindOwnAsync(jobId, cancellationToken), cancellationToken);

    [HttpDelete("{job_id}", Name = "cancelJob")]
    [EndpointSummary("Cancel a job; a running one needs force=true")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status400BadRequest, "application/json",
        Description = "CANNOT_CANCEL_RUNNING (a running job needs force=true), JOB_ALREADY_FINISHED, or INVALID_ARGUMENTS (force)")]
    public async Task<CanceledJobResponse> Cancel(
        [FromRoute(Name = "job_id")] string jobId,
        [FromQuery, Description("true also cancels a running job, firing its tool's token")] bool force,
        [FromServices] RunningJobs running,
        [FromServices] IBackgroundJobClient hangfire,
        [FromServices] WebhookEvents webhooks,
        [FromServices] ExecutionSlots slots,
        [FromServices] AgentCorexMetrics metrics,
        [FromServices] ILogger<JobsController> logger,
        [FromServices] TimeProvider time,
        CancellationToken cancellationToken)
    {
        var job = await FindOwnAsync(jobId, cancellationToken);
        using var scope = JobLogScope.Begin(logger, job);
        var canceled = await webhooks.PendingAsync(job.OwnerKeyId, JobEventNames.Canceled, cancellationToken);
        var canceler = JobCanceler.Of(Caller, job);
        // At most twice: a job seen queued may start before the cancel lands, and is then handled as running.
        for (var tries = 0; tries < 2; tries++)
        {
            // The cancel's write does not take the request's token, nor does anything after it: a client gone while
            // it was under way (committed, its answer not yet read) would leave a canceled job's tool running, its
            // slot handed over, and its event unraised.
            switch (job.Status)
            {
                case JobStatus.Queued when await TryCancelAsync(jobId, JobStatus.Queued, canceler, canceled, time):
                    metrics.JobFinished(job.Tool, JobStatus.Canceled);
                    LogCanceled(logger, jobId, canceler.Who, JobCanceler.When(JobStatus.Queued));
                    await webhooks.RaiseAsync(job, JobEventNames.Canceled, canceled, CancellationToken.None);
                    await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
                    return Canceled(jobId);
                case JobStatus.Running when !force:
                    throw JobErrors.CannotCancelRunning();
                case JobStatus.Running when await TryCancelAsync(jobId, JobStatus.Running, canceler, canceled, time):
                    running.Cancel(jobId);
                    if (job.HangfireId is not null)
                    {
                        CancelInHangfire(hangfire, job.HangfireId, new CanceledState(time.GetUtcNow().UtcDateTime, canceler.Reason(JobStatus.Running)), logger, jobId);
                    }
                    metrics.JobFinished(job.Tool, JobStatus.Canceled);
                    LogCanceled(logger, jobId, canceler.Who, JobCanceler.When(JobStatus.Running));
                    await webhooks.RaiseAsync(job, JobEventNames.Canceled, canceled, CancellationToken.None);
                    await slots.OnSlotFreedAsync(job.OwnerKeyId, CancellationToken.None);
                    return Canceled(jobId);
                case var status when JobStatus.IsFinal(status):
                    throw JobErrors.AlreadyFinished(jobId, status);
            }
            job = await FindOwnAsync(jobId, cancellationToken);
        }
        throw JobStatus.IsFinal(job.Status) ? JobErrors.AlreadyFinished(jobId, job.Status) : JobErrors.CannotCancelRunning();
    }

    [HttpGet(Name = "listJobs")]
    [EndpointSummary("List the caller's jobs, newest first")]
    public async Task<JobListResponse> List(
        [FromQuery] JobListQuery query, [FromServices] IValidator<JobListQuery> validator, [FromServices] JobTotals totals, CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(query);
        var total = await totals.CountAsync(Caller, query, cancellationToken);
        // Past the end there is nothing to read: the empty page, without a statement for it.
        List<JobEntry> page = query.Offset >= total ? [] : await db.Page(Caller, query).ToListAsync(cancellationToken);
        return new JobListResponse([.. page.Select(j => j.ToSummary())], new Pagination(query.Limit, query.Offset, total));
    }

    /// <summary>
    /// Reaches the node running the job, wherever that is: its worker's token fires when the state changes. The
    /// cancel is stored by then and stands (the run's outcome can no longer replace it), so a database that cannot
    /// be reached for this second step is logged, not answered 503: the tool has stopped if it ran on this node;
    /// on another node it runs on until the repair pass stops it (<see cref="JobRecovery"/>).
    /// </summary>
    private static void CancelInHangfire(IBackgroundJobClient hangfire, string hangfireId, CanceledState canceled, ILogger logger, string jobId)
    {
        try
        {
            hangfire.ChangeState(hangfireId, canceled, Hangfire.States.ProcessingState.StateName);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            LogHangfireNotTold(logger, jobId, e.GetBaseException().Message);
        }
    }

    /// <summary>
    /// The cancel's write. One the database stored while its answer was lost (the connection cut between commit and
    /// answer) is known by its time, read back once: the request then goes on as for any cancel stored, telling Hangfire
    /// (which stops the tool), where it answered 503 and left a running tool to run on. A read that fails too is the
    /// write's failure, answered 503 (the repair pass stops such a tool, <see cref="JobRecovery"/>).
    /// </summary>
    private async Task<bool> TryCancelAsync(string jobId, string from, JobCanceler canceler, int raises, TimeProvider time)
    {
        var canceledAt = time.GetUtcNow().UtcDateTime;
        try
        {
            return await ledger.TryCancelAsync(jobId, from, canceler, raises, canceledAt, CancellationToken.None);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            if (await ledger.IsEndedAtAsync(jobId, JobStatus.Canceled, canceledAt))
            {
                return true;
            }
            throw;
        }
    }

    private Task<JobEntry> FindOwnAsync(string jobId, CancellationToken cancellationToken) =>
        ledger.FindOwnAsync(jobId, Caller, cancellationToken);

    private static CanceledJobResponse Canceled(string jobId) => new(jobId, JobStatus.Canceled, "Job canceled successfully");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} was canceled, but its Hangfire job could not be moved to Canceled ({Reason}): a tool running on another node runs on until the repair pass stops it (Jobs:ReconcileInterval, once Jobs:ReconcileGrace has passed)")]
    private static partial void LogHangfireNotTold(ILogger logger, string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} canceled by {Canceler} {When}")]
    private static partial void LogCanceled(ILogger logger, string jobId, string canceler, string when);
}
