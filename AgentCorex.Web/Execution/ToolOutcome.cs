namespace AgentCorex.Web.Execution;

public enum ToolOutcomeKind
{
    Succeeded,
    Failed,
    TimedOut,
}

/// <summary>How one run of a tool ended.</summary>
public sealed record ToolOutcome(
    ToolOutcomeKind Kind,
    ToolResultJson? Result,
    string? ToolCode,
    string? ErrorMessage,
    IReadOnlyDictionary<string, object?>? ErrorDetails,
    long ExecutionTimeMs)
{
    public static ToolOutcome Succeeded(ToolResultJson result, long executionTimeMs) =>
        new(ToolOutcomeKind.Succeeded, result, null, null, null, executionTimeMs);

    /// <summary>The message said when a tool fails with none (an empty one, or white space): the contract's error always says something.</summary>
    public const string NoMessage = "The tool failed without saying why";

    public static ToolOutcome Failed(string? code, string message, IReadOnlyDictionary<string, object?>? details, long executionTimeMs) =>
        new(ToolOutcomeKind.Failed, null, code, string.IsNullOrWhiteSpace(message) ? NoMessage : message, details, executionTimeMs);

    public static ToolOutcome TimedOut(long executionTimeMs) =>
        new(ToolOutcomeKind.TimedOut, null, null, null, null, executionTimeMs);

    /// <summary>The error's details as clients see them: the tool's own, and its code as tool_code.</summary>
    public Dictionary<string, object?> ErrorDetailsWithToolCode()
    {
        var details = new Dictionary<string, object?>(ErrorDetails ?? new Dictionary<string, object?>());
        if (ToolCode is not null)
        {
            details["tool_code"] = ToolCode;
        }
        return details;
    }
}
