using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Tools;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Execution;

[ApiController]
[Route("execute_tool")]
[Authorize(Policy = ApiKeyPolicies.Admin)]
public sealed class ExecuteToolController(
    ToolCatalog catalog,
    ToolRunner runner,
    IValidator<ExecuteToolRequest> validator,
    IOptions<ExecutionOptions> options,
    ILoggerFactory loggers) : ControllerBase
{
    [HttpPost]
    public async Task<ExecuteToolResponse> Execute(ExecuteToolRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await validator.ValidateOrThrowAsync(request, cancellationToken);
            var tool = catalog.Find(request.Tool!) ?? throw ApiErrors.ToolNotFound(request.Tool!);
            var arguments = ArgumentBinder.Bind(tool, request.Arguments!.Value);
            var timeoutMs = request.TimeoutMs ?? options.Value.DefaultTimeoutMs;

            var context = new ToolExecutionContext(ExecutionIds.New(), loggers.CreateLogger("AgentCorex.Tools." + tool.Name));
            var outcome = await runner.RunAsync(tool, arguments, context, TimeSpan.FromMilliseconds(timeoutMs), cancellationToken);
            return outcome.Kind switch
            {
                ToolOutcomeKind.Succeeded => new ExecuteToolResponse(tool.Name, "success", outcome.Result, outcome.ExecutionTimeMs, context.Tokens),
                ToolOutcomeKind.TimedOut => throw ApiErrors.ExecutionTimeout(timeoutMs).ForTool(tool.Name, "timeout"),
                _ => throw ApiErrors.ExecutionError(outcome.ErrorMessage!, ToolCodeDetails(outcome)).ForTool(tool.Name),
            };
        }
        catch (ApiException e) when (e.Tool is null && request.Tool is not null)
        {
            throw e.ForTool(request.Tool);
        }
    }

    private static Dictionary<string, object?> ToolCodeDetails(ToolOutcome outcome)
    {
        var details = new Dictionary<string, object?>(outcome.ErrorDetails ?? new Dictionary<string, object?>());
        if (outcome.ToolCode is not null)
        {
            details["tool_code"] = outcome.ToolCode;
        }
        return details;
    }
}
