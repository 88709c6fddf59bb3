using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization.Metadata;
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
    /// <summary>
    /// A <c>NotEmpty</c> string's pattern: a character that is not white space as <see cref="char.IsWhiteSpace(char)"/>
    /// says (Unicode's White_Space), which FluentValidation refuses a string of only. Written out, as ECMA-262's <c>\S</c>
    /// is not it: U+0085 is white space to .NET, not to ECMA-262, and U+FEFF is to ECMA-262, not to .NET.
    /// </summary>
    internal const string NotBlankPattern = @"[^\t-\r\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]";

    /// <summary>
    /// The result's schema. A null property is left out of the result as written (the API's convention), so a property
    /// that may be null is not required, even when the exporter found it a constructor parameter.
    /// </summary>
    public static JsonObject ForResult(Type resultType) =>
        Export(resultType, ApiJson.Options, (context, node) =>
        {
            if (node is JsonObject schema && schema["required"] is JsonArray required && schema["properties"] is JsonObject properties)
            {
                var always = required.Select(n => n!.GetValue<string>())
                    // A property of any JSON (object, JsonElement: a schema without a type) may be null too.
                    .Where(name => properties[name] is JsonObject property && property.ContainsKey("type") && !IsType(property, "null"))
                    .ToList();
                if (always.Count == 0)
                {
                    schema.Remove("required");
                }
                else if (always.Count < required.Count)
                {
                    schema["required"] = new JsonArray([.. always.Select(n => (JsonNode)JsonValue.Create(n))]);
                }
            }
            return node;
        });

    public static JsonObject ForArguments(Type argumentsType, IValidator validator)
    {
        // The arguments' validator, and the validators it sets on nested objects and list items, by the type each checks.
        var descriptors = new Dictionary<Type, IValidatorDescriptor>();
        Collect(argumentsType, validator, descriptors);

        return Export(argumentsType, ToolJson.Described, (context, node) =>
        {
            if (node is not JsonObject schema)
            {
                return node;
            }
            ArgumentFormats.Describe(context.TypeInfo.Type, schema);
            if (context.PropertyInfo is { } property && descriptors.TryGetValue(property.DeclaringType, out var owner))
            {
                foreach (var rule in owner.UnconditionalRulesFor(property.DeclaringType, property))
                {
                    // A rule for each item of a list bounds the items, not the list.
                    var target = rule.IsForEachItem() ? schema["items"] as JsonObject : schema;
                    // A check with its own condition (When, Unless) may not apply: the schema must not refuse what the server takes.
                    foreach (var component in target is null ? [] : rule.Components.Where(c => !c.HasCondition && !c.HasAsyncCondition))
                    {
                        AddBounds(target!, component.Validator);
                    }
                }
            }
            AddTypeRange(schema, context.TypeInfo.Type);
            AddKeyNames(schema, context.TypeInfo);
            if (descriptors.TryGetValue(context.TypeInfo.Type, out var own) && context.TypeInfo.Kind == JsonTypeInfoKind.Object)
            {
                AddRequired(schema, own, context.TypeInfo);
            }
            return schema;
        });
    }

    /// <summary>
    /// Required: what the exporter found (a constructor parameter without a default), and what the validator insists
    /// on (not null, not empty) unless the argument has a default, which is then what an absent one means.
    /// </summary>
    private static void AddRequired(JsonObject schema, IValidatorDescriptor descriptor, JsonTypeInfo type)
    {
        var required = new SortedSet<string>(
            (schema["required"] as JsonArray ?? []).Select(n => n!.GetValue<string>()), StringComparer.Ordinal);
        foreach (var property in type.Properties)
        {
            if (descriptor.Demands(type.Type, property) && property.AssociatedParameter is not { HasDefaultValue: true })
            {
                required.Add(property.Name);
            }
        }
        if (required.Count > 0)
        {
            schema["required"] = new JsonArray([.. required.Select(n => (JsonNode)JsonValue.Create(n))]);
        }
    }

    private static void Collect(Type type, IValidator validator, Dictionary<Type, IValidatorDescriptor> descriptors)
    {
        var descriptor = validator.CreateDescriptor();
        if (!descriptors.TryAdd(type, descriptor))
        {
            return;
        }
        foreach (var component in descriptor.Rules.SelectMany(r => r.Components))
        {
            if (component.Validator is IChildValidatorAdaptor child && ChildValidator(child) is { } nested && ValidatedType(nested) is { } nestedType)
            {
                Collect(nestedType, nested, descriptors);
            }
        }
    }

    /// <summary>A child validator given as an instance (SetValidator(new ...)); one chosen per value at run time cannot be known here.</summary>
    private static IValidator? ChildValidator(IChildValidatorAdaptor child)
    {
        // ChildValidatorAdaptor<T, TProperty>.GetValidator(context, value) gives the instance back, needing only a context.
        var adaptor = child.GetType();
        var getValidator = adaptor.GetMethod("GetValidator", BindingFlags.Public | BindingFlags.Instance);
        if (!adaptor.IsGenericType || getValidator?.GetParameters().Length != 2)
        {
            return null;
        }
        try
        {
            var context = Activator.CreateInstance(typeof(ValidationContext<>).MakeGenericType(adaptor.GetGenericArguments()[0]), [null]);
            return getValidator.Invoke(child, [context, null]) as IValidator;
        }
        catch (TargetInvocationException)
        {
            return null; // a provider that needs the value
        }
    }

    private static Type? ValidatedType(IValidator validator) =>
        validator.GetType().GetInterfaces()
            .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IValidator<>))?.GetGenericArguments()[0];

    private static JsonObject Export(Type type, JsonSerializerOptions options, Func<JsonSchemaExporterContext, JsonNode, JsonNode>? transform)
    {
        var exporterOptions = new JsonSchemaExporterOptions
        {
            TreatNullObliviousAsNonNullable = true,
            TransformSchemaNode = transform,
        };
        var node = options.GetJsonSchemaAsNode(type, exporterOptions);
        return node switch
        {
            JsonObject schema => schema,
            // The schema true (any JSON: a result typed object or JsonElement) is the empty schema as an object.
            JsonValue any when any.GetValueKind() == JsonValueKind.True => [],
            _ => new JsonObject { ["type"] = node.DeepClone() },
        };
    }

    /// <summary>Adds what a validator says to a property's schema (whether it is required is <see cref="AddRequired"/>'s).</summary>
    private static void AddBounds(JsonObject schema, IPropertyValidator validator)
    {
        switch (validator)
        {
            case INotEmptyValidator:
                if (IsType(schema, "string"))
                {
                    schema.TryAdd("minLength", 1);
                    schema.TryAdd("pattern", NotBlankPattern); // NotEmpty also refuses a string of white space; a Matches rule's own pattern replaces this
                }
                else if (IsType(schema, "array"))
                {
                    schema.TryAdd("minItems", 1);
                }
                return;
            case ILengthValidator length:
                // A length of a list is its count of items.
                var (min, max) = IsType(schema, "array") ? ("minItems", "maxItems") : ("minLength", "maxLength");
                if (length.Min > 0)
                {
                    schema[min] = length.Min;
                }
                if (length.Max >= 0)
                {
                    schema[max] = length.Max;
                }
                return;
            case IBetweenValidator between:
                var exclusive = validator.Name.StartsWith("Exclusive", StringComparison.Ordinal);
                schema[exclusive ? "exclusiveMinimum" : "minimum"] = ToNode(between.From);
                schema[exclusive ? "exclusiveMaximum" : "maximum"] = ToNode(between.To);
                return;
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
                return;
            case IRegularExpressionValidator regex:
                schema["pattern"] = regex.Expression;
                return;
        }
    }

    /// <summary>
    /// An integer's range, where no tighter bound was given: the reader refuses a number its type cannot hold
    /// (99999999999 for an int), which the schema's bare "integer" allowed. A validator's bounds are of the property's
    /// type, so within its range; an exclusive one is tighter than the type's own. Each item of a list is given its range
    /// here too, before a RuleForEach's bounds on the list (<see cref="AddBounds"/>) replace it. A long's and a ulong's are
    /// written exactly, though JavaScript reads them as 2^63 and 2^64: left out, every validator would take 1e20, which
    /// the server refuses; given, an exact one agrees with the server and a JavaScript one misses only the numbers it
    /// cannot tell from the bound.
    /// </summary>
    private static void AddTypeRange(JsonObject schema, Type type)
    {
        if (IsType(schema, "integer") && JsonPaths.IntegerRange(Nullable.GetUnderlyingType(type) ?? type) is { } range)
        {
            AddUnlessBounded(schema, "minimum", "exclusiveMinimum", range.Min);
            AddUnlessBounded(schema, "maximum", "exclusiveMaximum", range.Max);
        }
    }

    /// <summary>
    /// A dictionary keyed by an enum takes the names of its values alone as keys (<see cref="PublishedEnumNames"/>), which
    /// the exporter does not say: its schema took any key.
    /// </summary>
    private static void AddKeyNames(JsonObject schema, JsonTypeInfo type)
    {
        if (type is { Kind: JsonTypeInfoKind.Dictionary, KeyType: { } key } && PublishedEnumNames.Lists(key))
        {
            schema["propertyNames"] = new JsonObject { ["enum"] = new JsonArray([.. PublishedEnumNames.Of(key).Select(n => (JsonNode)JsonValue.Create(n))]) };
        }
    }

    private static void AddUnlessBounded(JsonObject schema, string inclusive, string exclusive, Int128 bound)
    {
        if (!schema.ContainsKey(inclusive) && !schema.ContainsKey(exclusive))
        {
            schema[inclusive] = JsonNode.Parse(bound.ToString(CultureInfo.InvariantCulture));
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
