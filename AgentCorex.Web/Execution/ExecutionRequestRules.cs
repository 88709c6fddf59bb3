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

    private const string ArgumentsNotAnObject = "'arguments' must be a JSON object";

    /// <summary>
    /// NotNull first, though the object check refuses null too: it is what marks the field required in the OpenAPI document,
    /// and arguments left out (or null) are missing, as the contract words it, not of the wrong type.
    /// </summary>
    public static IRuleBuilderOptions<T, JsonElement?> IsArgumentsObject<T>(this IRuleBuilderInitial<T, JsonElement?> arguments) =>
        arguments.Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("Missing required argument: arguments")
            .Must(a => a is { ValueKind: JsonValueKind.Object }).WithMessage(ArgumentsNotAnObject);

    public static IRuleBuilderOptions<T, int?> IsTimeoutUpTo<T>(this IRuleBuilder<T, int?> timeoutMs, int maxMs, string context = "") =>
        timeoutMs.InclusiveBetween(1, maxMs).WithMessage($"'timeout_ms' must be between 1 and {maxMs}{context}");
}
