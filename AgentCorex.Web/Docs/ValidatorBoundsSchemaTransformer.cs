using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using AgentCorex.Web.Errors;
using FluentValidation;
using FluentValidation.Validators;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// A request body's bounds, taken from where the server keeps them: its validator's unconditional rules on each field
/// (NotEmpty, MaximumLength and Length, Matches, IsOneOf, InclusiveBetween, comparisons) become the field's minLength
/// (minItems for a list), maxLength, pattern, enum, minimum and maximum (and HasNoRepeats uniqueItems), and a RuleForEach's become its items', as the
/// tools' argument schemas get theirs. The generator sees only the C# types, so the document would otherwise say nothing
/// of a key's name being 1 to 100 characters, of timeout_ms' range, or of which events a webhook may name.
/// </summary>
internal sealed class ValidatorBoundsSchemaTransformer(IServiceProvider services) : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo;
        if (type.Kind != JsonTypeInfoKind.Object || schema.Properties is not { Count: > 0 } properties
            || ((IValidator?)services.GetService(typeof(IValidator<>).MakeGenericType(type.Type)))?.CreateDescriptor() is not { } validator)
        {
            return Task.CompletedTask;
        }
        foreach (var property in type.Properties)
        {
            if (!properties.TryGetValue(property.Name, out var declared) || declared is not OpenApiSchema field)
            {
                continue; // a nested object's schema is a reference, bounded by its own validator
            }
            foreach (var check in validator.UnconditionalChecksOf(type.Type, property))
            {
                Bound(field, check);
            }
            if (field.Items is OpenApiSchema items)
            {
                foreach (var check in validator.UnconditionalItemChecksOf(type.Type, property))
                {
                    Bound(items, check); // a RuleForEach bounds the list's items (a webhook's events), not the list
                }
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>What one check says of a field's schema; the query parameters' are bounded alike (QueryParameterRulesTransformer).</summary>
    public static void Bound(OpenApiSchema field, IPropertyValidator validator)
    {
        var isString = field.Type?.HasFlag(JsonSchemaType.String) == true;
        switch (validator)
        {
            case INotEmptyValidator when isString:
                field.MinLength = Math.Max(field.MinLength ?? 0, 1);
                break;
            case INotEmptyValidator when field.Type?.HasFlag(JsonSchemaType.Array) == true:
                field.MinItems = Math.Max(field.MinItems ?? 0, 1);
                break;
            case ILengthValidator length when isString:
                if (length.Min > 0)
                {
                    field.MinLength = length.Min;
                }
                if (length.Max > 0)
                {
                    field.MaxLength = length.Max;
                }
                break;
            case IDistinctItemsValidator:
                field.UniqueItems = true;
                break;
            case IOneOfValidator oneOf when isString:
                // Null too where the type admits it: a field left null is as one left out, which the check lets pass.
                IEnumerable<JsonNode> values = oneOf.Values.Select(v => JsonValue.Create(v));
                field.Enum = [.. field.Type!.Value.HasFlag(JsonSchemaType.Null) ? values.Prepend(null!) : values];
                break;
            case IRegularExpressionValidator regex when isString:
                field.Pattern = regex.Expression;
                break;
            case IBetweenValidator { Name: "InclusiveBetweenValidator" } between:
                field.Minimum = Number(between.From);
                field.Maximum = Number(between.To);
                break;
            case IBetweenValidator between:
                field.ExclusiveMinimum = Number(between.From);
                field.ExclusiveMaximum = Number(between.To);
                break;
            case IComparisonValidator { ValueToCompare: not null } comparison:
                switch (comparison.Comparison)
                {
                    case Comparison.GreaterThanOrEqual:
                        field.Minimum = Number(comparison.ValueToCompare);
                        break;
                    case Comparison.GreaterThan:
                        field.ExclusiveMinimum = Number(comparison.ValueToCompare);
                        break;
                    case Comparison.LessThanOrEqual:
                        field.Maximum = Number(comparison.ValueToCompare);
                        break;
                    case Comparison.LessThan:
                        field.ExclusiveMaximum = Number(comparison.ValueToCompare);
                        break;
                }
                break;
        }
    }

    private static string? Number(object? value) => Convert.ToString(value, CultureInfo.InvariantCulture);
}
