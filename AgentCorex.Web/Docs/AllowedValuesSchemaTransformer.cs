using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// A property marked <see cref="AllowedValuesAttribute"/> (a job's status) is an <c>enum</c> of those values in the
/// document, so that a client generated from it gets a type, not any string.
/// </summary>
internal sealed class AllowedValuesSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(typeof(AllowedValuesAttribute), inherit: false) is [AllowedValuesAttribute allowed, ..])
        {
            schema.Enum = [.. allowed.Values.Select(value => JsonValue.Create(value?.ToString())!).Cast<JsonNode>()];
        }
        return Task.CompletedTask;
    }
}
