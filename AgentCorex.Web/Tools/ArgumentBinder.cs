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
            throw ApiErrors.InvalidArguments($"'{argument}' is not a valid {DescribeExpected(typeInfo, argument)}", argument);
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

    /// <summary>Missing and unknown top-level arguments, named plainly before the deserializer's generic messages.</summary>
    private static void CheckNames(JsonTypeInfo typeInfo, JsonElement arguments)
    {
        foreach (var property in typeInfo.Properties)
        {
            var required = property.IsRequired || property.AssociatedParameter is { HasDefaultValue: false };
            if (required && !arguments.TryGetProperty(property.Name, out _))
            {
                throw ApiErrors.InvalidArguments($"Missing required argument: {property.Name}", property.Name);
            }
        }
        foreach (var given in arguments.EnumerateObject())
        {
            if (!typeInfo.Properties.Any(p => p.Name == given.Name))
            {
                throw ApiErrors.InvalidArguments($"Unknown argument: {given.Name}", given.Name);
            }
        }
    }

    private static string DescribeExpected(JsonTypeInfo typeInfo, string argument)
    {
        var property = typeInfo.Properties.FirstOrDefault(p => p.Name == argument);
        var type = property is null ? null : Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        return type switch
        {
            null => "value",
            _ when type == typeof(string) => "string",
            _ when type == typeof(bool) => "boolean",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) => "integer",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "number",
            _ when type.IsArray || typeof(System.Collections.IEnumerable).IsAssignableFrom(type) => "array",
            _ => "object",
        };
    }
}
