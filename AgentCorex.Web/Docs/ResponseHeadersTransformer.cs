using AgentCorex.Web.RateLimits;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// The response headers clients act on, which ApiExplorer cannot declare: the rate-limit window on every answer
/// of an execution endpoint that was counted (all but 401 and 403, refused before; none for a key without a
/// limit), Retry-After on 429 and on 503 (DATABASE_UNAVAILABLE, the stream's TOO_MANY_STREAMS), Location on 202, WWW-Authenticate on 401.
/// </summary>
internal sealed class ResponseHeadersTransformer : IOpenApiOperationTransformer
{
    private static readonly (string Name, string Description)[] RateLimitHeaders =
    [
        ("X-RateLimit-Limit", "The key's requests per minute on the execution endpoints"),
        ("X-RateLimit-Remaining", "Requests left in the current one-minute window"),
        ("X-RateLimit-Reset", "Unix seconds at which the current window ends"),
    ];

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var counted = context.Description.ActionDescriptor.EndpointMetadata.OfType<ExecutionRateLimitAttribute>().Any();
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
                    Add(declared, name, description, JsonSchemaType.Integer);
                }
            }
            switch (status)
            {
                case "429":
                case "503": // DATABASE_UNAVAILABLE on every route, TOO_MANY_STREAMS on the stream
                    Add(declared, "Retry-After", "Seconds to wait before trying again", JsonSchemaType.Integer);
                    break;
                case "202":
                    Add(declared, "Location", "The job: /jobs/{job_id}", JsonSchemaType.String);
                    break;
                case "401":
                    Add(declared, "WWW-Authenticate", "Bearer", JsonSchemaType.String);
                    break;
            }
        }
        return Task.CompletedTask;
    }

    private static void Add(OpenApiResponse response, string name, string description, JsonSchemaType type)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
    }
}
