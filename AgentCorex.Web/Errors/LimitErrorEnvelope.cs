using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace AgentCorex.Web.Errors;

/// <summary>
/// The body of a refusal over a limit, as the OpenAPI document describes it: the 429s (a key's requests per minute,
/// executions at once, jobs queued, streams open) and the 409 of a key's webhooks. The server writes an
/// <see cref="ErrorEnvelope"/>, as for any error; this names its shape where the details are the server's alone
/// (RateLimitErrors, StreamErrors, WebhookErrors), so that the document types their fields there and nowhere else:
/// an EXECUTION_ERROR's details, on the shared <see cref="ApiError"/>, are a tool's own, of any name and type.
/// </summary>
public sealed record LimitErrorEnvelope(
    LimitError Error,
    [property: JsonPropertyOrder(-2)] string? Tool = null,
    [property: JsonPropertyOrder(-1), AllowedValues(ErrorEnvelope.Errored)] string? Status = null);

/// <summary>An <see cref="ApiError"/> of a limit: one of two codes, and always details (typed by ErrorDetailsSchemaTransformer).</summary>
public sealed record LimitError(
    [property: AllowedValues(ErrorCodes.RateLimitExceeded, ErrorCodes.WebhookLimitReached)] string Code,
    string Message,
    IReadOnlyDictionary<string, object?> Details);
