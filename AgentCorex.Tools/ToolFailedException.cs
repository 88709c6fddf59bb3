using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace AgentCorex.Tools;

/// <summary>
/// Thrown by a tool to fail with a code of its own (for example <c>INSUFFICIENT_PERMISSIONS</c>) and optional details;
/// any other exception fails the execution with its message alone. The client sees the error code
/// <c>EXECUTION_ERROR</c>, the message, and the details with the code as <c>tool_code</c>.
/// </summary>
/// <param name="code">UPPER_SNAKE_CASE, at most <see cref="MaxCodeLength"/> characters, and not one of the server's own
/// codes (<see cref="IsReserved"/>): otherwise <see cref="ArgumentException"/>, so that a tool's own tests find it.</param>
/// <param name="message">What went wrong, for the client; one that is null or blank is answered as "The tool failed
/// without saying why".</param>
public sealed class ToolFailedException(string code, string message, IReadOnlyDictionary<string, object?>? details = null)
    : Exception(message ?? "")
{
    public const int MaxCodeLength = 100;

    /// <summary>UPPER_SNAKE_CASE. <c>(?!\n)</c>: .NET's <c>$</c> also matches before a last newline, JSON Schema's does not.</summary>
    public const string CodePattern = @"^[A-Z][A-Z0-9_]*(?!\n)$";

    /// <summary>
    /// The server's own error codes, which a tool's code must not be: a client that reads <c>tool_code</c> (or a
    /// dashboard, or a webhook's receiver) would take the tool's failure for the server's (a rate limit to wait out, a
    /// tool that does not exist). Codes <c>HTTP_</c> and a status are the server's too.
    /// </summary>
    public static IReadOnlySet<string> ReservedCodes { get; } = FrozenSet.Create(StringComparer.Ordinal,
    [
        "API_KEY_NOT_FOUND", "API_KEY_REVOKED", "CANNOT_CANCEL_RUNNING", "DATABASE_UNAVAILABLE", "EXECUTION_ERROR",
        "EXECUTION_TIMEOUT", "FORBIDDEN", "INTERNAL_ERROR", "INVALID_ARGUMENTS", "INVALID_REQUEST", "JOB_ALREADY_FINISHED",
        "JOB_NOT_FOUND", "METHOD_NOT_ALLOWED", "NOT_FOUND", "PAYLOAD_TOO_LARGE", "RATE_LIMIT_EXCEEDED", "REQUEST_TIMEOUT",
        "SERVER_RESTARTED", "SERVER_SHUTTING_DOWN", "TOO_MANY_STREAMS", "TOOL_NOT_FOUND", "UNAUTHORIZED",
        "UNSUPPORTED_MEDIA_TYPE", "WEBHOOK_LIMIT_REACHED", "WEBHOOK_NOT_FOUND",
    ]);

    public string Code { get; } = Checked(code);

    public IReadOnlyDictionary<string, object?> Details { get; } = details ?? new Dictionary<string, object?>();

    public static bool IsWellFormed(string? code) =>
        !string.IsNullOrEmpty(code) && code.Length <= MaxCodeLength && Regex.IsMatch(code, CodePattern, RegexOptions.CultureInvariant);

    public static bool IsReserved(string code) => ReservedCodes.Contains(code) || code.StartsWith("HTTP_", StringComparison.Ordinal);

    private static string Checked(string code)
    {
        if (!IsWellFormed(code))
        {
            var given = code is null ? "null" : code.Length <= MaxCodeLength ? $"'{code}'" : $"{code.Length} characters";
            throw new ArgumentException(
                $"A tool's error code is UPPER_SNAKE_CASE (A-Z, 0-9 and _, starting with a letter), at most {MaxCodeLength} characters, not {given}",
                nameof(code));
        }
        if (IsReserved(code))
        {
            throw new ArgumentException($"{code} is one of the server's own error codes: a tool's code says what failed in the tool", nameof(code));
        }
        return code;
    }
}
