using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentCorex.Web.Errors;
using FluentValidation;

namespace AgentCorex.Web.Tools;

/// <summary>
/// Turns a request's <c>arguments</c> into the tool's typed, validated arguments record, or the first
/// problem as INVALID_ARGUMENTS naming the argument (a JSON path for nested ones).
/// </summary>
public static class ArgumentBinder
{
    public static object Bind(ToolDescriptor tool, JsonElement arguments)
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
            throw ApiErrors.InvalidArguments($"'{argument}' is not a valid {JsonPaths.Expected(typeInfo, argument)}", argument);
        }
        if (bound is null)
        {
            throw ApiErrors.InvalidArguments("'arguments' must be a JSON object", "arguments");
        }

        var result = tool.Validator.Validate(new ValidationContext<object>(bound));
        if (!result.IsValid)
        {
            var first = result.Errors[0];
            throw ApiErrors.InvalidArguments(first.ErrorMessage, first.PropertyName);
        }
        return bound;
    }

    /// <summary>
    /// Missing and unknown arguments, named plainly (by their JSON path, in nested objects and lists of them too)
    /// before the deserializer's generic messages, which name only the object that lacks one.
    /// </summary>
    private static void CheckNames(JsonTypeInfo typeInfo, JsonElement arguments, string prefix = "")
    {
        foreach (var property in typeInfo.Properties)
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
            CheckNested(typeInfo.Options.GetTypeInfo(property.PropertyType), value, prefix + property.Name);
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

    /// <summary>An object's arguments, or each object in a list; a value of the wrong kind is left to the deserializer to name.</summary>
    private static void CheckNested(JsonTypeInfo typeInfo, JsonElement value, string path)
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
                CheckNested(elementInfo, element, $"{path}[{index++}]");
            }
        }
    }
}
