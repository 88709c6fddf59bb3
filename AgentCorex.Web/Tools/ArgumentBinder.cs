using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using FluentValidation;
using FluentValidation.Results;

namespace AgentCorex.Web.Tools;

/// <summary>
/// Turns a request's <c>arguments</c> into the tool's typed, validated arguments record, or the first
/// problem as INVALID_ARGUMENTS naming the argument (a JSON path for nested ones).
/// </summary>
public static class ArgumentBinder
{
    public static async Task<object> BindAsync(ToolDescriptor tool, JsonElement arguments, CancellationToken cancellationToken)
    {
        if (arguments.ValueKind != JsonValueKind.Object)
        {
            throw ApiErrors.InvalidArguments("'arguments' must be a JSON object", "arguments");
        }

        var typeInfo = ToolJson.Arguments.GetTypeInfo(tool.Tool.ArgumentsType);
        CheckNames(typeInfo, arguments);

        object? bound;
        try
        {
            bound = arguments.Deserialize(typeInfo);
        }
        catch (JsonException e)
        {
            var argument = JsonPaths.ToArgument(e.Path);
            var expected = e is PublishedEnumNames.UnknownKeyException key ? key.Expected : JsonPaths.Expected(typeInfo, argument);
            throw ApiErrors.InvalidArguments($"'{argument}' is not a valid {expected}", argument);
        }
        if (bound is null)
        {
            throw ApiErrors.InvalidArguments("'arguments' must be a JSON object", "arguments");
        }

        var result = await ValidateAsync(tool, bound, cancellationToken);
        if (!result.IsValid)
        {
            var first = result.Errors[0];
            throw ApiErrors.InvalidArguments(first.ErrorMessage, first.PropertyName);
        }
        return bound;
    }

    /// <summary>
    /// Synchronously, as most validators are (no task per run), unless the validator has asynchronous rules (MustAsync, a
    /// custom async check), which only ValidateAsync runs: found at its first run, and remembered.
    /// </summary>
    private static async ValueTask<ValidationResult> ValidateAsync(ToolDescriptor tool, object arguments, CancellationToken cancellationToken)
    {
        if (!tool.ValidatesAsynchronously)
        {
            try
            {
                return tool.Validator.Validate(new ValidationContext<object>(arguments));
            }
            catch (AsyncValidatorInvokedSynchronouslyException)
            {
                tool.ValidatesAsynchronously = true;
            }
        }
        return await tool.Validator.ValidateAsync(new ValidationContext<object>(arguments), cancellationToken);
    }

    /// <summary>
    /// Missing and unknown arguments, named plainly (by their JSON path, in nested objects and lists of them too)
    /// before the deserializer's generic messages, which name only the object that lacks one.
    /// </summary>
    private static void CheckNames(JsonTypeInfo typeInfo, JsonElement arguments, string prefix = "")
    {
        foreach (var property in typeInfo.Properties.Where(ApiJson.IsField))
        {
            var required = property.IsRequired || property.AssociatedParameter is { HasDefaultValue: false };
            if (!arguments.TryGetProperty(property.Name, out var value))
            {
                if (required)
                {
                    throw ApiErrors.InvalidArguments($"Missing required argument: {prefix}{property.Name}", prefix + property.Name);
                }
                continue;
            }
            CheckNested(typeInfo.Options.GetTypeInfo(property.PropertyType), value, prefix + property.Name, property);
        }
        foreach (var given in arguments.EnumerateObject())
        {
            if (!typeInfo.Properties.Any(p => p.Name == given.Name))
            {
                var unknown = ApiErrors.Echo(prefix + given.Name, ApiErrors.MaxEchoedName);
                throw ApiErrors.InvalidArguments($"Unknown argument: {unknown}", unknown);
            }
        }
    }

    /// <summary>
    /// An object's arguments, or each object in a list or a dictionary's values (named by their key, as in
    /// <c>hosts.primary.port</c>); a value of the wrong kind is left to the deserializer to name. A null item of a list or
    /// value of a dictionary whose <paramref name="collection"/> property declares them not nullable is refused here: the
    /// deserializer keeps nullable annotations of properties, not of their items.
    /// </summary>
    private static void CheckNested(JsonTypeInfo typeInfo, JsonElement value, string path, JsonPropertyInfo? collection = null)
    {
        if (typeInfo.Kind == JsonTypeInfoKind.Object && value.ValueKind == JsonValueKind.Object)
        {
            CheckNames(typeInfo, value, path + ".");
        }
        else if (typeInfo is { Kind: JsonTypeInfoKind.Enumerable, ElementType: { } elementType } && value.ValueKind == JsonValueKind.Array)
        {
            var elementInfo = typeInfo.Options.GetTypeInfo(elementType);
            var index = 0;
            foreach (var element in value.EnumerateArray())
            {
                CheckItem(elementInfo, element, $"{path}[{index++}]", collection);
            }
        }
        else if (typeInfo is { Kind: JsonTypeInfoKind.Dictionary, ElementType: { } valueType } && value.ValueKind == JsonValueKind.Object)
        {
            var valueInfo = typeInfo.Options.GetTypeInfo(valueType);
            foreach (var entry in value.EnumerateObject())
            {
                CheckItem(valueInfo, entry.Value, $"{path}.{ApiErrors.Echo(entry.Name, ApiErrors.MaxEchoedName)}", collection);
            }
        }
    }

    private static void CheckItem(JsonTypeInfo itemInfo, JsonElement item, string path, JsonPropertyInfo? collection)
    {
        if (item.ValueKind == JsonValueKind.Null && !itemInfo.Type.IsValueType && collection is not null && ItemsNotNullable(collection))
        {
            throw ApiErrors.InvalidArguments($"'{path}' is not a valid {JsonPaths.Describe(itemInfo)}", path);
        }
        CheckNested(itemInfo, item, path);
    }

    /// <summary>
    /// Whether a list's items or a dictionary's values are declared not nullable (List&lt;Item&gt;, not List&lt;Item?&gt;;
    /// unknown without annotations): the last type argument, or an array's element.
    /// </summary>
    private static bool ItemsNotNullable(JsonPropertyInfo collection)
    {
        var context = new NullabilityInfoContext();
        var declared = collection.AttributeProvider switch
        {
            PropertyInfo property => context.Create(property),
            FieldInfo field => context.Create(field),
            _ => null,
        };
        var items = declared?.ElementType ?? (declared?.GenericTypeArguments is [.., var last] ? last : null);
        return items?.ReadState == NullabilityState.NotNull;
    }
}
