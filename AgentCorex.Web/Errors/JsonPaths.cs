using System.Text.Json.Serialization.Metadata;

namespace AgentCorex.Web.Errors;

internal static class JsonPaths
{
    /// <summary>"$.a.b[0]" → "a.b[0]": how the contract names an argument.</summary>
    public static string ToArgument(string? path) => path switch
    {
        null or "" or "$" => "$",
        _ when path.StartsWith("$.", StringComparison.Ordinal) => path[2..],
        _ when path.StartsWith('$') => path[1..],
        _ => path,
    };

    /// <summary>
    /// What the value at a path ("target.port", "tags[1]") of <paramref name="root"/> should have been, by its declared
    /// type: "integer", "string", ... ("value" when the path names nothing declared).
    /// </summary>
    public static string Expected(JsonTypeInfo root, string argument)
    {
        Type? type = root.Type;
        foreach (var segment in argument.Split('.'))
        {
            var name = segment;
            var indexes = 0;
            if (segment.IndexOf('[') is var bracket and > 0)
            {
                name = segment[..bracket];
                indexes = segment.Count(c => c == '[');
            }
            var property = type is null ? null : root.Options.GetTypeInfo(type).Properties.FirstOrDefault(p => p.Name == name);
            type = property?.PropertyType;
            for (var i = 0; i < indexes && type is not null; i++)
            {
                type = root.Options.GetTypeInfo(type).ElementType;
            }
        }
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        return type switch
        {
            null => "value",
            _ when type == typeof(string) => "string",
            _ when type == typeof(bool) => "boolean",
            _ when type == typeof(int) || type == typeof(long) || type == typeof(short) => "integer",
            _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "number",
            _ when type == typeof(System.Text.Json.JsonElement) => "value",
            _ when type.IsArray || typeof(System.Collections.IEnumerable).IsAssignableFrom(type) => "array",
            _ => "object",
        };
    }
}
