using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The body of <see cref="IdempotencyKeys.Reused"/>'s 422, as the OpenAPI document describes it, so that its details'
/// one field is named and typed there (the shared <see cref="ApiError"/>'s details are a tool's own on an
/// EXECUTION_ERROR, of any name and type). The server writes an <see cref="ErrorEnvelope"/>, as for any error.
/// </summary>
public sealed record IdempotencyKeyReusedEnvelope(
    IdempotencyKeyReusedError Error,
    [property: JsonPropertyOrder(-2)] string? Tool = null,
    [property: JsonPropertyOrder(-1), AllowedValues(ErrorEnvelope.Errored)] string? Status = null);

/// <summary>An <see cref="ApiError"/> of IDEMPOTENCY_KEY_REUSED, whose details name the job the key's first submit made.</summary>
public sealed record IdempotencyKeyReusedError(
    [property: AllowedValues(ErrorCodes.IdempotencyKeyReused)] string Code,
    string Message,
    IdempotencyKeyReusedDetails Details);

/// <summary>The job the Idempotency-Key's first submit made: GET it, or send that submit again with the key.</summary>
public sealed record IdempotencyKeyReusedDetails(string JobId);
