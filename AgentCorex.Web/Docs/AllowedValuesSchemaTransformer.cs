using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// A property marked <see cref="AllowedValuesAttribute"/> (a job's status) or <see cref="PublishedValuesAttribute"/> (an
/// error's code, a webhook's events) is an <c>enum</c> of those values in the document, a list's items are, so that a
/// client generated from it gets a type it can narrow by, not any string.
/// </summary>
internal sealed class AllowedValuesSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var values = context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(inherit: false) switch
        {
            { } attributes when attributes.OfType<AllowedValuesAttribute>().FirstOrDefault() is { } allowed => allowed.Values.Select(value => value?.ToString()),
            { } attributes when attributes.OfType<PublishedValuesAttribute>().FirstOrDefault() is { } published => published.Values,
            _ => null,
        };
        if (values is not null)
        {
            // A list whose items are a $ref has none of its own here to take the enum, which landed on the list itself: a
            // wrong schema, published without a word. None is such a list; one made so fails the document (and
            // ApiDocsTests) instead.
            var target = schema.Items switch
            {
                null => schema,
                OpenApiSchema items => items,
                _ => throw new InvalidOperationException(
                    $"{context.JsonPropertyInfo!.DeclaringType.Name}.{context.JsonPropertyInfo.Name} is a list whose items are a $ref: its values cannot be published as an enum of its items"),
            };
            target.Enum = [.. values.Select(value => JsonValue.Create(value)!).Cast<JsonNode>()];
        }
        return Task.CompletedTask;
    }
}
