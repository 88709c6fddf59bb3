using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// An object whose fields the document does not name (a run's arguments, an error's details, a tool's schemas) takes
/// any: the document says so, <c>additionalProperties: {}</c>. A bare <c>{"type":"object"}</c> means the same to JSON
/// Schema, but generators read it as an object with no fields (openapi-typescript: <c>Record&lt;string, never&gt;</c>),
/// to which a typed client cannot pass a single argument. Done over the finished document, after
/// <see cref="ArgumentsSchemaTransformer"/>, on every schema the components hold, nested ones included.
/// </summary>
internal sealed class OpenObjectsTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var open = (document.Components?.Schemas?.Values ?? []).SelectMany(Within)
            .Where(schema => schema.Type?.HasFlag(JsonSchemaType.Object) == true
                && schema.Properties is null or { Count: 0 } && schema.AdditionalProperties is null && schema.AdditionalPropertiesAllowed)
            .ToList();
        foreach (var schema in open)
        {
            schema.AdditionalProperties = new OpenApiSchema();
        }
        return Task.CompletedTask;
    }

    /// <summary>The schema and those written within it (a reference's are its component's, visited as such).</summary>
    private static IEnumerable<OpenApiSchema> Within(IOpenApiSchema? schema) => schema is OpenApiSchema inline
        ? new[] { inline.Items, inline.AdditionalProperties }
            .Concat(inline.Properties?.Values ?? [])
            .Concat(inline.AllOf ?? []).Concat(inline.AnyOf ?? []).Concat(inline.OneOf ?? [])
            .SelectMany(Within).Prepend(inline)
        : [];
}
