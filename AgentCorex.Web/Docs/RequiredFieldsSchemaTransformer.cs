using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using FluentValidation;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// Keeps <c>required</c> to the fields the server really needs and really sends. The generator marks every
/// constructor parameter without a default required, yet a nullable field may be absent: a request binds an
/// absent field as null, which only its validator refuses (a NotNull or NotEmpty rule without a condition), and a
/// response leaves null fields out (ApiJson's WhenWritingNull), but those marked to be written always (a tool's metrics'
/// times, null until a job completes), which are sent in every answer.
/// </summary>
internal sealed class RequiredFieldsSchemaTransformer(IServiceProvider services) : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo;
        if (type.Kind != JsonTypeInfoKind.Object || schema.Required is not { Count: > 0 } required)
        {
            return Task.CompletedTask;
        }
        var validator = ((IValidator?)services.GetService(typeof(IValidator<>).MakeGenericType(type.Type)))?.CreateDescriptor();
        var omitsNulls = type.Options.DefaultIgnoreCondition == JsonIgnoreCondition.WhenWritingNull;
        foreach (var property in type.Properties.Where(p => p.IsGetNullable && required.Contains(p.Name)))
        {
            var mayBeAbsent = validator is null
                ? omitsNulls && ApiJson.IgnoreCondition(property) != JsonIgnoreCondition.Never // those written always are sent
                : !validator.Demands(type.Type, property);
            if (mayBeAbsent)
            {
                required.Remove(property.Name);
            }
            else if (validator is not null && schema.Properties?.TryGetValue(property.Name, out var declared) == true && declared is OpenApiSchema field)
            {
                RefuseNull(field); // {"tool":null} is refused as a missing tool is: the document must not offer null
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The field's type without null (an object's reference gets its null later: RequiredReferencesTransformer).</summary>
    private static void RefuseNull(OpenApiSchema field)
    {
        if (field.Type is { } declared && declared.HasFlag(JsonSchemaType.Null))
        {
            field.Type = declared & ~JsonSchemaType.Null;
        }
    }
}
