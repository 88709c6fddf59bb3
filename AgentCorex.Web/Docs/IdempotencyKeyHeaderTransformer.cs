using AgentCorex.Web.Jobs;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// The Idempotency-Key header as <see cref="IdempotencyKeys.Read"/> takes it (the generator sees a bare string), and
/// its refusal among the operation's 400s.
/// </summary>
internal sealed class IdempotencyKeyHeaderTransformer : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var header = operation.Parameters?.OfType<OpenApiParameter>()
            .FirstOrDefault(p => p.In == ParameterLocation.Header && p.Name == IdempotencyKeys.Header);
        if (header?.Schema is not OpenApiSchema schema)
        {
            return Task.CompletedTask;
        }
        schema.MinLength = 1;
        schema.MaxLength = IdempotencyKeys.MaxLength;
        schema.Pattern = IdempotencyKeys.Pattern;
        if (operation.Responses?.TryGetValue("400", out var refused) == true && refused is OpenApiResponse response)
        {
            response.Description += "; INVALID_REQUEST also for an Idempotency-Key that is not one, or sent twice";
        }
        return Task.CompletedTask;
    }
}
