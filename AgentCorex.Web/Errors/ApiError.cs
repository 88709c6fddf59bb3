using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using AgentCorex.Web.Docs;

namespace AgentCorex.Web.Errors;

/// <summary>The contract's error object: <c>{"code", "message", "argument"?, "details"?}</c>.</summary>
public sealed record ApiError([property: PublishedValues(typeof(ErrorCodes))] string Code, string Message, string? Argument = null, IReadOnlyDictionary<string, object?>? Details = null);

/// <summary>
/// The body of every error response. Execution endpoints add the tool and the execution status
/// (<c>error</c> or <c>timeout</c>) before the error, in the contract's order.
/// </summary>
public sealed record ErrorEnvelope(
    ApiError Error,
    [property: JsonPropertyOrder(-2)] string? Tool = null,
    [property: JsonPropertyOrder(-1), AllowedValues(ErrorEnvelope.Errored, ErrorEnvelope.TimedOut)] string? Status = null)
{
    /// <summary>An execution's status beside its error: it ran out of time, or anything else went wrong.</summary>
    public const string Errored = "error";

    public const string TimedOut = "timeout";
}
