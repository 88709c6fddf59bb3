namespace AgentCorex.Tools;

/// <summary>
/// Thrown by a tool to fail with a code of its own (for example <c>INSUFFICIENT_PERMISSIONS</c>) and
/// optional details; any other exception fails the execution with its message alone.
/// </summary>
public sealed class ToolFailedException(string code, string message, IReadOnlyDictionary<string, object?>? details = null)
    : Exception(message)
{
    public string Code { get; } = code;

    public IReadOnlyDictionary<string, object?> Details { get; } = details ?? new Dictionary<string, object?>();
}
