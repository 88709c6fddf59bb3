using AgentCorex.Web.Auth;
using Microsoft.AspNetCore.Mvc.Controllers;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// Every controller route needs an API key (MapApi requires it); the document says so per operation, with
/// ?access_token= as the alternative where the route takes it (see <see cref="AccessTokenQueryAttribute"/>), which is
/// then a query parameter of the operation too.
/// </summary>
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
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<AccessTokenQueryAttribute>().Any())
            {
                operation.Security.Add(new OpenApiSecurityRequirement
                {
                    [new OpenApiSecuritySchemeReference(ApiDocumentTransformer.AccessTokenScheme, context.Document)] = [],
                });
                // Also a parameter of its own: generated clients pass parameters, not an apiKey scheme's query value.
                operation.Parameters ??= [];
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = AccessTokenQueryAttribute.Parameter,
                    In = ParameterLocation.Query,
                    Description = "The API key, for a client that cannot send Authorization (a browser's EventSource); either will do",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }
        }
        return Task.CompletedTask;
    }
}
