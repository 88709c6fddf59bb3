using System.Reflection;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// An error's details name the fields the server puts there, each optional, with the code that gives it: an open object
/// alone was read by generated clients as fields of unknown type (openapi-typescript: <c>unknown</c>), which a client
/// had to cast to read the limit it was refused by. Any other field stays allowed (<c>additionalProperties: {}</c>),
/// so no answer breaks the schema. Each name is written where the server builds its error (RateLimitErrors,
/// StreamErrors, WebhookErrors, ToolOutcome).
/// </summary>
internal sealed class ErrorDetailsSchemaTransformer : IOpenApiSchemaTransformer
{
    private static readonly (string Name, JsonSchemaType Type, string Description)[] Fields =
    [
        ("limit", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of the requests per minute: the key's limit a minute (as X-RateLimit-Limit); "
            + "WEBHOOK_LIMIT_REACHED: the most webhooks a key may have (Webhooks:MaxPerKey)"),
        ("retry_after", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of the requests per minute: seconds until the key's next request is counted (as Retry-After)"),
        ("max_concurrent", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of a direct execution: the key's limit of tool executions at once, reached"),
        ("max_queued", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of a submit: the most jobs a key may have queued (Jobs:MaxQueuedPerKey), reached"),
        ("max_streams_per_key", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of a job's stream: the most streams a key may have open on one server (Streaming:MaxStreamsPerKey), reached"),
        ("tool_code", JsonSchemaType.String, "EXECUTION_ERROR of a tool that failed with a code of its own (UPPER_SNAKE_CASE): that code"),
    ];

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is { AttributeProvider: PropertyInfo { Name: nameof(ApiError.Details) } property }
            && property.DeclaringType == typeof(ApiError))
        {
            schema.Description = "More of the error, by its code; each field is optional, and others may come. An EXECUTION_ERROR's are "
                + "the tool's own beside tool_code, named and typed as the tool chose: read the fields below by the code that gives them.";
            schema.Properties = Fields.ToDictionary(
                field => field.Name, IOpenApiSchema (field) => new OpenApiSchema { Type = field.Type, Description = field.Description });
            schema.AdditionalProperties ??= new OpenApiSchema();
        }
        return Task.CompletedTask;
    }
}
