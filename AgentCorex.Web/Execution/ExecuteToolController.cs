using System.ComponentModel;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Shutdown;
using AgentCorex.Web.Tools;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Execution;

[ApiController]
[Route("execute_tool")]
[Authorize(Policy = ApiKeyPolicies.Admin)]
public sealed partial class ExecuteToolController(
    ToolCatalog catalog,
    ToolRunner runner,
    IValidator<ExecuteToolRequest> validator,
    KeyLimits limits,
    ShutdownDeadline shutdown,
    IOptions<ExecutionOptions> options,
    TimeProvider time,
    ILogger<ExecuteToolController> logger) : ControllerBase
{
    /// <summary>Runs the tool now; with mode "async", submits it as a job instead, as POST /jobs/submit does.</summary>
    [HttpPost(Name = "executeTool")]
    [EndpointSummary("Run a tool now, or as a background job with mode \"async\"")]
    [ExecutionRateLimit]
    [ProducesResponseType<ExecuteToolResponse>(StatusCodes.Status200OK, "application/json")]
    [ProducesResponseType<SubmittedJobResponse>(StatusCodes.Status202Accepted, "application/json", Description = "mode \"async\": the job was submitted, as POST /jobs/submit does")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status404NotFound, "application/json", Description = "TOOL_NOT_FOUND")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status500InternalServerError, "application/json", Description = "EXECUTION_ERROR: the tool failed (error.details.tool_code, a tool's own code), or INTERNAL_ERROR: the server did")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status504GatewayTimeout, "application/json", Description = "EXECUTION_TIMEOUT")]
    [ProducesResponseType<IdempotencyKeyReusedEnvelope>(StatusCodes.Status422UnprocessableEntity, "application/json", Description = IdempotencyKeys.ReusedDescription)]
    public async Task<IActionResult> Execute(
        ExecuteToolRequest request,
        // Bound for the OpenAPI document; IdempotencyKeys.Read reads the header's every value.
        [FromHeader(Name = IdempotencyKeys.Header), Description(IdempotencyKeys.HeaderDescription + " Mode \"async\" only: a direct execution with one is refused 400.")] string? idempotencyKey,
        CancellationToken cancellationToken)
    {
        try
        {
            validator.ValidateOrThrow(request);
            var key = IdempotencyKeys.Read(Request);
            if (request.Mode == ExecuteToolRequestValidator.Async)
            {
                // Resolved here, not injected: a direct execution must not pay for the job machinery (a pooled DbContext).
                var jobs = HttpContext.RequestServices.GetRequiredService<JobSubmitter>();
                var jobOptions = HttpContext.RequestServices.GetRequiredService<IOptions<JobsOptions>>();
                var submitted = await jobs.SubmitAsync(
                    ApiKeyIdentity.From(User), request.Tool!, request.Arguments!.Value, request.TimeoutMs ?? jobOptions.Value.DefaultTimeoutMs, key, cancellationToken);
                return this.AcceptedJob(submitted);
            }
            if (key is not null)
            {
                throw IdempotencyKeys.NotForDirectExecutions();
            }
            var tool = catalog.Find(request.Tool!) ?? throw ApiErrors.ToolNotFound(request.Tool!);
            var arguments = await ArgumentBinder.BindAsync(tool, request.Arguments!.Value, cancellationToken);
            var timeoutMs = request.TimeoutMs ?? options.Value.DefaultTimeoutMs;

            var context = new ToolExecutionContext(ExecutionIds.New(), tool.Logger);
            await using var slot = await TakeSlotAsync(context.ExecutionId, timeoutMs, cancellationToken);
            var outcome = await RunForClientAsync(tool, arguments, context, timeoutMs, cancellationToken);
            return outcome.Kind switch
            {
                ToolOutcomeKind.Succeeded => Ok(new ExecuteToolResponse(tool.Name, ExecuteToolResponse.Succeeded, outcome.Result, outcome.ExecutionTimeMs, context.Tokens)),
                ToolOutcomeKind.TimedOut => throw ApiErrors.ExecutionTimeout(timeoutMs).ForTool(tool.Name, ErrorEnvelope.TimedOut),
                _ => throw ApiErrors.ExecutionError(outcome.ErrorMessage!, outcome.ErrorDetailsWithToolCode()).ForTool(tool.Name),
            };
        }
        catch (Exception e) when (e.AnswerFor(request.Tool) is { } answer)
        {
            throw answer;
        }
        catch (OperationCanceledException) when (shutdown.Deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw ShutdownErrors.CutOff().ForTool(request.Tool!);
        }
    }

    /// <summary>
    /// The run, canceled if the client goes away (a closed connection, or a proxy's read timeout ending it): the one line
    /// that says so, as no answer is written for the log of a proxy or a client to show. A stopping server lets the tool
    /// run until its shutdown deadline, then answers 503; a connection that ends while it stops is as likely Kestrel's
    /// doing (it drops those still open as the host stops) as the client's, and is not said to be the client's.
    /// </summary>
    private async Task<ToolOutcome> RunForClientAsync(
        ToolDescriptor tool, object arguments, ToolExecutionContext context, int timeoutMs, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        try
        {
            return await runner.RunAsync(tool, arguments, context, TimeSpan.FromMilliseconds(timeoutMs), cancellationToken, shutdown.Deadline);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !shutdown.IsStopping)
        {
            LogClientGone(logger, context.ExecutionId, tool.Name, ApiKeyIdentity.From(HttpContext).KeyId, (long)time.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
    }

    /// <summary>One of the caller's slots of executions at once, or 429; nothing to take (nor a database to ask) for a key without that limit.</summary>
    private async Task<DirectSlot?> TakeSlotAsync(string executionId, int timeoutMs, CancellationToken cancellationToken)
    {
        var caller = ApiKeyIdentity.From(HttpContext);
        if (limits.MaxConcurrent(caller) is null)
        {
            return null;
        }
        var slots = HttpContext.RequestServices.GetRequiredService<ExecutionSlots>();
        return await slots.TakeDirectAsync(caller, executionId, TimeSpan.FromMilliseconds(timeoutMs), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} of {Tool} for {KeyId} canceled: its client went away after {ExecutionTimeMs} ms")]
    private static partial void LogClientGone(ILogger logger, string executionId, string tool, string keyId, long executionTimeMs);
}
