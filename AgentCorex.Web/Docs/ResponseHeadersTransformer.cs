using System.Text.Json.Nodes;
using AgentCorex.Web.RateLimits;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// The response headers clients act on, which ApiExplorer cannot declare: the rate-limit window on every answer
/// of an execution endpoint that counted the request (all but 401 and 403, refused before; none for a key without a
/// limit), Retry-After on 429 and on 503 (DATABASE_UNAVAILABLE, the stream's TOO_MANY_STREAMS; not a stopping node's
/// SERVER_SHUTTING_DOWN, on an execution endpoint or the stream), Location and Idempotent-Replayed on 202 and
/// on a 201 (the route its action's <see cref="CreatedLocationAttribute"/> names), WWW-Authenticate on 401. A header
/// is <c>required</c> only where every answer of that status carries it, and a header some answers of a status leave
/// out says which: the document promises no header an answer may lack.
/// </summary>
internal sealed class ResponseHeadersTransformer : IOpenApiOperationTransformer
{
    private static readonly (string Name, string Description)[] RateLimitHeaders =
    [
        ("X-RateLimit-Limit", "The key's requests per minute on the execution endpoints"),
        ("X-RateLimit-Remaining", "Requests left in the current one-minute window"),
        ("X-RateLimit-Reset", "Unix seconds at which the current window ends"),
    ];

    /// <summary>
    /// An execution endpoint's 503 is SERVER_SHUTTING_DOWN or DATABASE_UNAVAILABLE. A stopping node refuses a request
    /// before it is counted (ShutdownFilter runs before RateLimitFilter), so that a refusal costs the key nothing; the
    /// database may fail before the count (reading the key, or the count itself on a server database) or after it.
    /// </summary>
    private const string CountedOnly =
        ". On a 503 only when the request was counted before it failed: a DATABASE_UNAVAILABLE after the count, or a direct " +
        "execution cut off at the shutdown deadline (SERVER_SHUTTING_DOWN); not on a SERVER_SHUTTING_DOWN refusal, which is " +
        "not counted, nor on a DATABASE_UNAVAILABLE raised before the count (reading the key, or counting on a server database)";

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var counted = metadata.OfType<ExecutionRateLimitAttribute>().Any();
        var created = metadata.OfType<CreatedLocationAttribute>().SingleOrDefault();
        // A stopping node opens no new stream (JobStreamController), as it starts no new execution.
        var stream = operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content?.ContainsKey("text/event-stream") == true;
        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (response is not OpenApiResponse declared)
            {
                continue;
            }
            if (counted && status is not ("401" or "403"))
            {
                foreach (var (name, description) in RateLimitHeaders)
                {
                    Add(declared, name, status == "503" ? description + CountedOnly : description, JsonSchemaType.Integer, required: false);
                }
            }
            switch (status)
            {
                case "429":
                    Add(declared, "Retry-After", "Seconds to wait before trying again", JsonSchemaType.Integer, required: true);
                    break;
                case "503" when counted:
                    // ShutdownErrors sets none: the node will not serve it again; the client sends it elsewhere now.
                    Add(declared, "Retry-After", "Seconds to wait before trying again, on a DATABASE_UNAVAILABLE; a SERVER_SHUTTING_DOWN has none: " +
                        "send the request to another node", JsonSchemaType.Integer, required: false);
                    break;
                case "503" when stream:
                    Add(declared, "Retry-After", "Seconds to wait before trying again, on a TOO_MANY_STREAMS or a DATABASE_UNAVAILABLE; a " +
                        "SERVER_SHUTTING_DOWN has none: connect to another node", JsonSchemaType.Integer, required: false);
                    break;
                case "503": // DATABASE_UNAVAILABLE on every route
                    Add(declared, "Retry-After", "Seconds to wait before trying again", JsonSchemaType.Integer, required: true);
                    break;
                case "202":
                    Add(declared, "Location", "The job: /jobs/{job_id}", JsonSchemaType.String, required: true);
                    Add(declared, Jobs.IdempotencyKeys.ReplayedHeader, "true when the job is the one an earlier submit with the same " +
                        "Idempotency-Key made, answered again; absent on a new job", JsonSchemaType.String, required: false, only: "true");
                    break;
                case "201" when created is not null:
                    Add(declared, "Location", $"What was created, to read with GET: {created.Route}", JsonSchemaType.String, required: true);
                    break;
                case "401":
                    Add(declared, "WWW-Authenticate", "Bearer", JsonSchemaType.String, required: true);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    private static void Add(OpenApiResponse response, string name, string description, JsonSchemaType type, bool required, string? only = null)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        var schema = new OpenApiSchema { Type = type };
        if (only is not null)
        {
            schema.Enum = [JsonValue.Create(only)];
        }
        response.Headers[name] = new OpenApiHeader { Description = description, Required = required, Schema = schema };
    }
}
