using AgentCorex.Web.Auth;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// PATCH /api_keys/{key_id} with nothing to change is refused (UpdateApiKeyRequestValidator): of that rule, the document
/// states the part a schema can, exactly: an empty object (<c>minProperties: 1</c>). The rest is no schema's to forbid,
/// for a field null, or rate_limits empty, is refused alone but taken beside another; the operation's description says it.
/// </summary>
internal sealed class NothingToChangeSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonTypeInfo.Type == typeof(UpdateApiKeyRequest))
        {
            schema.MinProperties = 1;
        }
        return Task.CompletedTask;
    }
}
