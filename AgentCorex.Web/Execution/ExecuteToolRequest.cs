using System.Text.Json;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Jobs;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Execution;

public sealed record ExecuteToolRequest(string? Tool, JsonElement? Arguments, string? Mode, int? TimeoutMs) : IExecutionRequest;

public sealed class ExecuteToolRequestValidator : AbstractValidator<ExecuteToolRequest>
{
    public const string Sync = "sync";
    public const string Async = "async";

    public ExecuteToolRequestValidator(IOptions<ExecutionOptions> execution, IOptions<JobsOptions> jobs)
    {
        var syncMax = execution.Value.MaxTimeoutMs;
        var asyncMax = jobs.Value.MaxTimeoutMs;
        RuleFor(r => r.Tool).IsToolName();
        RuleFor(r => r.Arguments).IsArgumentsObject();
        RuleFor(r => r.Mode)
            .IsOneOf([Sync, Async])
            .WithMessage("'mode' must be \"sync\" or \"async\"");
        RuleFor(r => r.TimeoutMs).IsTimeoutUpTo(syncMax).When(r => r.Mode != Async);
        RuleFor(r => r.TimeoutMs).IsTimeoutUpTo(asyncMax, " for a job").When(r => r.Mode == Async);
        // What the OpenAPI document can say of timeout_ms, which reads unconditional rules only: the widest range either
        // mode accepts. A value outside it breaks one of the rules above first, whose message names the mode's own bound.
        RuleFor(r => r.TimeoutMs).InclusiveBetween(1, Math.Max(syncMax, asyncMax));
    }
}
