using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// A required field that holds an object (a request's arguments) is not null either. The generator writes a nullable
/// object field as a oneOf of null and the object's reference, after the schema transformers have run, so this is
/// done over the finished document: <see cref="RequiredFieldsSchemaTransformer"/> has left required only the fields the
/// server refuses a request without (null included) or sends in every answer (where null fields are left out).
/// </summary>
internal sealed class RequiredReferencesTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        var fields = (document.Components?.Schemas?.Values ?? []).OfType<OpenApiSchema>()
            .Where(schema => schema is { Required.Count: > 0, Properties: not null })
            .SelectMany(schema => schema.Required!.Select(name => schema.Properties!.TryGetValue(name, out var field) ? field : null))
            .OfType<OpenApiSchema>()
            .Where(field => field.OneOf is not null);
        foreach (var field in fields)
        {
            field.OneOf = [.. field.OneOf!.Where(branch => branch is not OpenApiSchema { Type: JsonSchemaType.Null })];
        }
        return Task.CompletedTask;
    }
}
