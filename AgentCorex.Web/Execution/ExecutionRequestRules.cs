using System.Text.Json;
using FluentValidation;

namespace AgentCorex.Web.Execution;

/// <summary>The rules every request to run a tool shares, direct or as a job.</summary>
internal static class ExecutionRequestRules
{
    /// <summary>The longest tool name the ledger keeps (jobs.tool); no tool can have a longer one.</summary>
    public const int MaxToolNameLength = 64;

    public static IRuleBuilderOptions<T, string?> IsToolName<T>(this IRuleBuilder<T, string?> tool) =>
        tool.NotEmpty().WithMessage("Missing required argument: tool");

    public static IRuleBuilderOptions<T, JsonElement?> IsArgumentsObject<T>(this IRuleBuilder<T, JsonElement?> arguments) =>
        arguments.Must(a => a is { ValueKind: JsonValueKind.Object }).WithMessage("'arguments' must be a JSON object");

    public static IRuleBuilderOptions<T, int?> IsTimeoutUpTo<T>(this IRuleBuilder<T, int?> timeoutMs, int maxMs, string context = "") =>
        timeoutMs.InclusiveBetween(1, maxMs).WithMessage($"'timeout_ms' must be between 1 and {maxMs}{context}");
}
