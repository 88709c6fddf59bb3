using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Tools;

namespace AgentCorex.Web.Jobs;

// The tool's run under the job's timeout and cancel, and how it ended, as the ledger stores it.
public sealed partial class ToolJob
{
    /// <summary>
    /// The tool's run, and how it ended. A fault outside the tool's run (its validator throws: a service it asks is
    /// down as the job runs; a fault of the server's in binding) ends the job failed too, as EXECUTION_ERROR saying
    /// nothing of it (logged here whole, as POST /execute_tool's INTERNAL_ERROR is): let out to Hangfire, it failed the
    /// Hangfire job and left the ledger's running, for the repair pass to end SERVER_RESTARTED or, if its tool is safe
    /// to retry, to run again every minute. The run's own cancel is no fault: it goes on to the caller.
    /// </summary>
    private async Task<JobEnding> RunToolAsync(JobEntry job, string hangfireId, CancellationToken cancellationToken)
    {
        try
        {
            return await BindAndRunAsync(job, hangfireId, cancellationToken);
        }
        catch (Exception fault) when (fault is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogRunFault(logger, fault, job.Id, job.Tool);
            // Details "{}", as a tool's failure that says none has: every EXECUTION_ERROR row holds an object (README's jobs table).
            return new JobEnding(JobStatus.Failed, 0, ErrorCode: "EXECUTION_ERROR", ErrorMessage: ApiErrors.InternalMessage, ErrorDetails: "{}");
        }
    }

    private async Task<JobEnding> BindAndRunAsync(JobEntry job, string hangfireId, CancellationToken cancellationToken)
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
        var context = toolContext = new ToolExecutionContext(job.Id, tool.Logger) { ProgressReported = progress.Report };
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

    /// <summary>A timed-out job's <c>error.details</c>: the limit it ran past.</summary>
    private sealed record TimeoutDetails(long TimeoutMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {JobId} of tool {Tool} failed outside its tool's run (its validator, or the server binding its arguments): ended failed")]
    private static partial void LogRunFault(ILogger logger, Exception exception, string jobId, string tool);
}
