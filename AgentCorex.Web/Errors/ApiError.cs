namespace AgentCorex.Web.Errors;

/// <summary>The contract's error object: <c>{"code", "message", "argument"?, "details"?}</c>.</summary>
public sealed record ApiError(string Code, string Message, string? Argument = null, IReadOnlyDictionary<string, object?>? Details = null);

/// <summary>
/// The body of every error response. Execution endpoints add the tool and the execution status
/// (<c>error</c> or <c>timeout</c>) beside the error, as the contract shows.
/// </summary>
public sealed record ErrorEnvelope(ApiError Error, string? Tool = null, string? Status = null);
