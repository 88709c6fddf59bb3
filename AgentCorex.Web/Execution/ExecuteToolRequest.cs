using System.Text.Json;
using AgentCorex.Web.Jobs;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Execution;

public sealed record ExecuteToolRequest(string? Tool, JsonElement? Arguments, string? Mode, int? TimeoutMs);

public sealed class ExecuteToolRequestValidator : AbstractValidator<ExecuteToolRequest>
{
    public const string Sync = "sync";
    public const string Async = "async";

    public ExecuteToolRequestValidator(IOptions<ExecutionOptions> execution, IOptions<JobsOptions> jobs)
    {
        var syncMax = execution.Value.MaxTimeoutMs;
        var asyncMax = jobs.Value.MaxTimeoutMs;
        RuleFor(r => r.Tool).NotEmpty().WithMessage("Missing required argument: tool");
        RuleFor(r => r.Arguments)
            .Must(a => a is { ValueKind: JsonValueKind.Object })
            .WithMessage("'arguments' must be a JSON object");
        RuleFor(r => r.Mode)
            .Must(m => m is null or Sync or Async)
            .WithMessage("'mode' must be \"sync\" or \"async\"");
        RuleFor(r => r.TimeoutMs)
            .InclusiveBetween(1, syncMax)
            .When(r => r.Mode != Async)
            .WithMessage($"'timeout_ms' must be between 1 and {syncMax}");
        RuleFor(r => r.TimeoutMs)
            .InclusiveBetween(1, asyncMax)
            .When(r => r.Mode == Async)
            .WithMessage($"'timeout_ms' must be between 1 and {asyncMax} for a job");
    }
}
