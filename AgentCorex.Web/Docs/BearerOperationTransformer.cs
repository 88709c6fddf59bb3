using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>Every controller route needs an API key (MapApi requires it); the document says so per operation.</summary>
internal sealed class BearerOperationTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor is ControllerActionDescriptor)
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference(ApiDocumentTransformer.BearerScheme, context.Document)] = [],
            });
        }
        return Task.CompletedTask;
    }
}
