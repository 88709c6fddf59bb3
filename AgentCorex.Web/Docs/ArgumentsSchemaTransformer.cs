using AgentCorex.Web.Execution;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// A request's <c>arguments</c> is held as any JSON (so that its checks, not the binder, say what is wrong with it), but
/// the server takes only an object: the document says object, so that a client generated from it sends one. The
/// generator writes the field as a reference to a shared any-JSON schema after the schema transformers have run, so
/// this is done over the finished document, on the schemas of the requests that run a tool.
/// </summary>
internal sealed class ArgumentsSchemaTransformer : IOpenApiDocumentTransformer
{
    private static readonly string[] ExecutionRequests =
    [
        .. typeof(IExecutionRequest).Assembly.GetTypes()
            .Where(type => type is { IsClass: true, IsAbstract: false } && typeof(IExecutionRequest).IsAssignableFrom(type))
            .Select(type => type.Name),
    ];

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var name in ExecutionRequests)
        {
            if (document.Components?.Schemas is { } schemas
                && schemas.TryGetValue(name, out var schema)
                && schema is OpenApiSchema { Properties: { } properties }
                && properties.ContainsKey("arguments"))
            {
                properties["arguments"] = new OpenApiSchema { Type = JsonSchemaType.Object };
            }
        }
        return Task.CompletedTask;
    }
}
