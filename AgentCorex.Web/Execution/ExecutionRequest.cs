using System.Buffers;
using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Storage;

namespace AgentCorex.Web.Execution;

/// <summary>
/// A request to run a tool (POST /execute_tool, POST /jobs/submit). Every error either endpoint answers names the
/// tool asked for, with <c>"status":"error"</c>, as the contract's execution errors do.
/// </summary>
public interface IExecutionRequest
{
    string? Tool { get; }
}

internal static class ExecutionRequest
{
    /// <summary>
    /// What an execution endpoint answers, naming <paramref name="tool"/>, for an exception its action let out: an
    /// error meant for the client, a database out of reach, or a fault (the server's own, or a tool's validator that
    /// throws), which the handler logs whole and answers 500 INTERNAL_ERROR; null for a cancellation, which is not a
    /// fault (the client went away, or the node is stopping) and for a request that could not be read.
    /// </summary>
    public static ApiException? AnswerFor(this Exception exception, string? tool) => exception switch
    {
        ApiException { ExecutionStatus: null } error => error.ForTool(Named(tool)),
        ApiException or OperationCanceledException or BadHttpRequestException => null,
        _ when DatabaseFailures.IsUnavailable(exception) => ApiErrors.DatabaseUnavailable(exception).ForTool(Named(tool)),
        _ => ApiErrors.Internal(exception).ForTool(Named(tool)),
    };

    /// <summary>The tool as an error names it: none for an empty name, or one longer than any tool's.</summary>
    private static string? Named(string? tool) => tool is { Length: > 0 and <= ExecutionRequestRules.MaxToolNameLength } ? tool : null;

    /// <summary>The error, answered for an execution of the tool a body asks for, when it names one (a string "tool" at its top).</summary>
    public static ApiException ForToolIn(this ApiException error, JsonElement body) =>
        error.ExecutionStatus is not null ? error
        : Named(ToolIn(body)) is { } name ? error.ForTool(name)
        : error.ForNoTool();

    /// <summary>
    /// The "tool" string at a body's top; null for none, and for one that is no text: an unpaired surrogate, escaped, in
    /// it or in a name read before it, which System.Text.Json lets through its parse and throws for only when read.
    /// </summary>
    private static string? ToolIn(JsonElement body)
    {
        try
        {
            return body.ValueKind == JsonValueKind.Object && body.TryGetProperty("tool", out var tool) && tool.ValueKind == JsonValueKind.String
                ? tool.GetString()
                : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The error, answered for an execution that names no tool: <c>"status":"error"</c> without <c>tool</c>.</summary>
    public static ApiException ForNoTool(this ApiException error) => error.ExecutionStatus is null ? error.ForTool(null) : error;

    /// <summary>Whether an endpoint is one of the execution endpoints (POST /execute_tool, POST /jobs/submit).</summary>
    public static bool IsExecution(this Endpoint? endpoint) => endpoint?.Metadata.GetMetadata<ExecutionRateLimitAttribute>() is not null;

    /// <summary>Refusals do not read more than this of a body to find its tool.</summary>
    private const int MaxBodyReadForTool = 64 * 1024;

    /// <summary>
    /// The error, answered for the tool the request's body asks for, read here (before model binding): for the
    /// refusals made before the body is read. A body that cannot be read or parsed, or larger than a request to run
    /// a tool needs to be, names none.
    /// </summary>
    public static async Task<ApiException> ForToolInBodyAsync(this ApiException error, HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType() || request.ContentLength > MaxBodyReadForTool)
        {
            return error.ForNoTool();
        }
        try
        {
            var body = request.BodyReader;
            while (true)
            {
                var read = await body.ReadAsync(cancellationToken);
                if (read.Buffer.Length > MaxBodyReadForTool)
                {
                    return error.ForNoTool();
                }
                if (read.IsCompleted)
                {
                    var named = error.ForToolIn(read.Buffer); // parsed into a copy: the buffer can go
                    body.AdvanceTo(read.Buffer.End);
                    return named;
                }
                body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
            }
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException)
        {
            return error.ForNoTool();
        }
    }

    /// <summary>The error, answered for an execution of the tool a whole body asks for (none, for a body that is not JSON).</summary>
    public static ApiException ForToolIn(this ApiException error, ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = ApiJson.Options.MaxDepth });
        try
        {
            if (!JsonDocument.TryParseValue(ref reader, out var document))
            {
                return error.ForNoTool();
            }
            using (document)
            {
                return error.ForToolIn(document.RootElement);
            }
        }
        catch (JsonException)
        {
            return error.ForNoTool(); // not JSON at all: no tool to name
        }
    }
}
