using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using FluentValidation;
using FluentValidation.Validators;

namespace AgentCorex.Web.Tools;

/// <summary>
/// JSON Schemas of a tool's arguments and result, generated from the types by System.Text.Json's exporter,
/// with the bounds of the arguments' validator added where JSON Schema can say them.
/// </summary>
internal static class ToolSchemas
{
    public static JsonObject ForResult(Type resultType) =>
        Export(resultType, ApiJson.Options, transform: null);

    public static JsonObject ForArguments(Type argumentsType, IValidator validator)
    {
        var descriptor = validator.CreateDescriptor();
        var required = new SortedSet<string>(StringComparer.Ordinal);
        var schema = Export(argumentsType, ToolJson.Arguments, (context, node) =>
        {
            if (context.PropertyInfo is { } property
                && property.DeclaringType == argumentsType
                && property.AttributeProvider is MemberInfo member
                && node is JsonObject propertySchema)
            {
                // Rules are named by FluentValidation's property name resolver: the JSON name here, the member name by default.
                var rules = descriptor.GetRulesForMember(property.Name).Concat(descriptor.GetRulesForMember(member.Name))
                    .Distinct()
                    .Where(r => !r.HasCondition && !r.HasAsyncCondition);
                foreach (var component in rules.SelectMany(r => r.Components))
                {
                    if (AddBounds(propertySchema, component.Validator))
                    {
                        required.Add(property.Name);
                    }
                }
            }
            return node;
        });

        if (required.Count > 0)
        {
            var existing = schema["required"] as JsonArray ?? [];
            foreach (var name in existing.Select(n => n!.GetValue<string>()))
            {
                required.Add(name);
            }
            schema["required"] = new JsonArray([.. required.Select(n => (JsonNode)JsonValue.Create(n))]);
        }
        return schema;
    }

    private static JsonObject Export(Type type, JsonSerializerOptions options, Func<JsonSchemaExporterContext, JsonNode, JsonNode>? transform)
    {
        var exporterOptions = new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = transform,
        };
        var node = options.GetJsonSchemaAsNode(type, exporterOptions);
        return node as JsonObject ?? new JsonObject { ["type"] = node.DeepClone() };
    }

    /// <summary>Adds what a validator says to a property's schema; true when it makes the property required.</summary>
    private static bool AddBounds(JsonObject schema, IPropertyValidator validator)
    {
        switch (validator)
        {
            case INotNullValidator:
                return true;
            case INotEmptyValidator:
                if (IsType(schema, "string"))
                {
                    schema.TryAdd("minLength", 1);
                }
                return true;
            case ILengthValidator length:
                if (length.Min > 0)
                {
                    schema["minLength"] = length.Min;
                }
                if (length.Max >= 0)
                {
                    schema["maxLength"] = length.Max;
                }
                return false;
            case IBetweenValidator between:
                var exclusive = validator.Name.StartsWith("Exclusive", StringComparison.Ordinal);
                schema[exclusive ? "exclusiveMinimum" : "minimum"] = ToNode(between.From);
                schema[exclusive ? "exclusiveMaximum" : "maximum"] = ToNode(between.To);
                return false;
            case IComparisonValidator { ValueToCompare: not null } comparison:
                var keyword = comparison.Comparison switch
                {
                    Comparison.GreaterThan => "exclusiveMinimum",
                    Comparison.GreaterThanOrEqual => "minimum",
                    Comparison.LessThan => "exclusiveMaximum",
                    Comparison.LessThanOrEqual => "maximum",
                    _ => null,
                };
                if (keyword is not null)
                {
                    schema[keyword] = ToNode(comparison.ValueToCompare);
                }
                return false;
            case IRegularExpressionValidator regex:
                schema["pattern"] = regex.Expression;
                return false;
            default:
                return false;
        }
    }

    private static JsonNode? ToNode(object value) => JsonSerializer.SerializeToNode(value, value.GetType(), ApiJson.Options);

    private static bool IsType(JsonObject schema, string type) => schema["type"] switch
    {
        JsonValue value => value.GetValue<string>() == type,
        JsonArray types => types.Any(t => t?.GetValue<string>() == type),
        _ => false,
    };
}
