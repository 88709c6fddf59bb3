using System.Reflection;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// An error's details name the fields the server puts there, each optional, with the code that gives it: an open object
/// alone was read by generated clients as fields of unknown type (openapi-typescript: <c>unknown</c>), which a client
/// had to cast to read the limit it was refused by. A field is typed only where no tool can give it: a limit's details
/// (<see cref="LimitError"/>: RateLimitErrors, StreamErrors, WebhookErrors) are the server's alone, and of the shared
/// <see cref="ApiError"/>'s only tool_code is, put in last (ToolOutcome) and only beside a tool's code (a tool that
/// fails without one gives no details), so a tool's own <c>"tool_code"</c> is always replaced. Any other field stays
/// allowed (<c>additionalProperties: {}</c>), so no answer breaks the schema.
/// </summary>
internal sealed class ErrorDetailsSchemaTransformer : IOpenApiSchemaTransformer
{
    private static readonly (string Name, JsonSchemaType Type, string Description)[] LimitFields =
    [
        ("limit", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of the requests per minute: the key's limit a minute (as X-RateLimit-Limit); "
            + "WEBHOOK_LIMIT_REACHED: the most webhooks a key may have (Webhooks:MaxPerKey)"),
        ("retry_after", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of the requests per minute: seconds until the key's next request is counted (as Retry-After)"),
        ("max_concurrent", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of a direct execution: the key's limit of tool executions at once, reached"),
        ("max_queued", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of a submit: the most jobs a key may have queued (Jobs:MaxQueuedPerKey), reached"),
        ("max_streams_per_key", JsonSchemaType.Integer, "RATE_LIMIT_EXCEEDED of a job's stream: the most streams a key may have open on one server (Streaming:MaxStreamsPerKey), reached"),
    ];

    private static readonly (string Name, JsonSchemaType Type, string Description)[] ErrorFields =
    [
        ("tool_code", JsonSchemaType.String, "EXECUTION_ERROR of a tool that failed with a code of its own (UPPER_SNAKE_CASE): that code"),
    ];

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is not { AttributeProvider: PropertyInfo { Name: nameof(ApiError.Details) } property })
        {
            return Task.CompletedTask;
        }
        if (property.DeclaringType == typeof(LimitError))
        {
            Name(schema, LimitFields, "The limit reached, in the field of its kind: read the fields below by the refusal that gives them.");
        }
        else if (property.DeclaringType == typeof(ApiError))
        {
            Name(schema, ErrorFields, "More of the error, by its code; each field is optional. An EXECUTION_ERROR's are the tool's own, "
                + "named and typed as the tool chose, beside tool_code. A refusal over a limit is a LimitError, whose details are typed.");
        }
        return Task.CompletedTask;
    }

    private static void Name(OpenApiSchema schema, (string Name, JsonSchemaType Type, string Description)[] fields, string description)
    {
        schema.Description = description;
        schema.Properties = fields.ToDictionary(
            field => field.Name, IOpenApiSchema (field) => new OpenApiSchema { Type = field.Type, Description = field.Description });
        schema.AdditionalProperties ??= new OpenApiSchema();
    }
}
