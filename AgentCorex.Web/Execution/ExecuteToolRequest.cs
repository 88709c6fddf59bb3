using System.Text.Json;
using FluentValidation;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Execution;

public sealed record ExecuteToolRequest(string? Tool, JsonElement? Arguments, string? Mode, int? TimeoutMs);

public sealed class ExecuteToolRequestValidator : AbstractValidator<ExecuteToolRequest>
{
    public ExecuteToolRequestValidator(IOptions<ExecutionOptions> options)
    {
        var max = options.Value.MaxTimeoutMs;
        RuleFor(r => r.Tool).NotEmpty().WithMessage("Missing required argument: tool");
        RuleFor(r => r.Arguments)
            .Must(a => a is { ValueKind: JsonValueKind.Object })
            .WithMessage("'arguments' must be a JSON object");
        RuleFor(r => r.Mode)
            .Must(m => m is null or "sync")
            .WithMessage("'mode' must be \"sync\"");
        RuleFor(r => r.TimeoutMs)
            .InclusiveBetween(1, max)
            .WithMessage($"'timeout_ms' must be between 1 and {max}");
    }
}
