namespace AgentCorex.Web.Errors;

/// <summary>An error the client is meant to see; the one exception handler turns it into the contract's shape.</summary>
public sealed class ApiException(int statusCode, ApiError error, Exception? innerException = null) : Exception(error.Message, innerException)
{
    public int StatusCode { get; } = statusCode;

    public ApiError Error { get; } = error;

    /// <summary>The tool an execution endpoint was asked to run, echoed in the envelope.</summary>
    public string? Tool { get; init; }

    /// <summary>The execution status reported beside the error (<c>error</c> or <c>timeout</c>).</summary>
    public string? ExecutionStatus { get; init; }

    /// <summary>When the client may try again, sent as Retry-After (whole seconds).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>
    /// The same error, answered for an execution of <paramref name="tool"/> (null: a request that names no tool, whose
    /// error still says <c>"status":"error"</c>, as every error of an execution endpoint does).
    /// </summary>
    public ApiException ForTool(string? tool, string executionStatus = ErrorEnvelope.Errored) =>
        new(StatusCode, Error, InnerException) { Tool = tool, ExecutionStatus = executionStatus, RetryAfter = RetryAfter };

    public ErrorEnvelope ToEnvelope() => new(Error, Tool, ExecutionStatus);
}
