using System.Text.Json.Nodes;
using FluentValidation;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// A query parameter's bounds, enum and default, taken from where the server keeps them: the rules of its query type's
/// validator (InclusiveBetween, GreaterThanOrEqualTo, MaximumLength, IsOneOf, bounded as request fields are) and the
/// type's own initial values. The generator sees only the C# types, so the document would otherwise say nothing of
/// <c>limit</c>'s 1 to 100, or of the values <c>status</c> takes.
/// </summary>
internal sealed class QueryParameterRulesTransformer(IServiceProvider services) : IOpenApiOperationTransformer
{
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        foreach (var parameter in operation.Parameters?.OfType<OpenApiParameter>() ?? [])
        {
            var described = context.Description.ParameterDescriptions
                .FirstOrDefault(d => d.Source == BindingSource.Query && d.Name == parameter.Name);
            if (parameter.In != ParameterLocation.Query || parameter.Schema is not OpenApiSchema schema
                || described?.ModelMetadata is not { ContainerType: { } queryType, PropertyName: { } property })
            {
                continue;
            }
            var validator = ((IValidator?)services.GetService(typeof(IValidator<>).MakeGenericType(queryType)))?.CreateDescriptor();
            // Rules are named by FluentValidation's resolver when made: the C# name, or the contract's once the tools set it.
            var rules = new[] { property, parameter.Name! }.Distinct(StringComparer.Ordinal)
                .SelectMany(name => validator?.GetRulesForMember(name) ?? [])
                .Where(rule => !rule.HasCondition && !rule.HasAsyncCondition);
            foreach (var component in rules.SelectMany(rule => rule.Components).Where(c => !c.HasCondition && !c.HasAsyncCondition))
            {
                ValidatorBoundsSchemaTransformer.Bound(schema, component.Validator);
            }
            if (queryType.GetConstructor(Type.EmptyTypes) is not null
                && queryType.GetProperty(property)?.GetValue(Activator.CreateInstance(queryType)) is { } initial)
            {
                schema.Default = initial switch
                {
                    int number => JsonValue.Create(number),
                    bool flag => JsonValue.Create(flag),
                    string text => JsonValue.Create(text),
                    _ => null,
                };
            }
        }
        return Task.CompletedTask;
    }

}
