using System.Text.RegularExpressions;

namespace AgentCorex.Tools;

/// <summary>
/// Thrown by a tool to fail with a code of its own (for example <c>INSUFFICIENT_PERMISSIONS</c>) and optional details;
/// any other exception fails the execution with its message alone. The client sees the error code
/// <c>EXECUTION_ERROR</c>, the message, and the details with the code as <c>tool_code</c>.
/// </summary>
/// <param name="code">UPPER_SNAKE_CASE, at most <see cref="MaxCodeLength"/> characters: otherwise
/// <see cref="ArgumentException"/>, so that a tool's own tests find it. It may be a word the server uses too
/// (<c>NOT_FOUND</c>, <c>RATE_LIMIT_EXCEEDED</c> of a service the tool calls): the client reads it as <c>tool_code</c>
/// beside <c>EXECUTION_ERROR</c>, never as the answer's code.</param>
/// <param name="message">What went wrong, for the client; one that is null or blank is answered as "The tool failed
/// without saying why".</param>
public sealed class ToolFailedException(string code, string message, IReadOnlyDictionary<string, object?>? details = null)
    : Exception(message ?? "")
{
    public const int MaxCodeLength = 100;

    /// <summary>UPPER_SNAKE_CASE. <c>(?!\n)</c>: .NET's <c>$</c> also matches before a last newline, JSON Schema's does not.</summary>
    public const string CodePattern = @"^[A-Z][A-Z0-9_]*(?!\n)$";

    public string Code { get; } = Checked(code);

    private static readonly Regex CodeText = PublishedPatterns.Strict(CodePattern);

    public IReadOnlyDictionary<string, object?> Details { get; } = details ?? new Dictionary<string, object?>();

    public static bool IsWellFormed(string? code) =>
        !string.IsNullOrEmpty(code) && code.Length <= MaxCodeLength && CodeText.IsMatch(code);

    private static string Checked(string code)
    {
        if (!IsWellFormed(code))
        {
            var given = code is null ? "null" : code.Length <= MaxCodeLength ? $"'{code}'" : $"{code.Length} characters";
            throw new ArgumentException(
                $"A tool's error code is UPPER_SNAKE_CASE (A-Z, 0-9 and _, starting with a letter), at most {MaxCodeLength} characters, not {given}",
                nameof(code));
        }
        return code;
    }
}
