using System.Globalization;
using System.Text.Json;
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
            var info = type is null ? null : root.Options.GetTypeInfo(type);
            // A dictionary's key names one of its values.
            type = info?.Kind == JsonTypeInfoKind.Dictionary ? info.ElementType : info?.Properties.FirstOrDefault(p => p.Name == name)?.PropertyType;
            for (var i = 0; i < indexes && type is not null; i++)
            {
                type = root.Options.GetTypeInfo(type).ElementType;
            }
        }
        return Describe(type is null ? null : root.Options.GetTypeInfo(type));
    }

    /// <summary>
    /// A type as JSON writes it, in the words of its JSON Schema (a date-time is a string of that format): a list or a map
    /// as its serializer's contract says it is, a single value by its type.
    /// </summary>
    public static string Describe(JsonTypeInfo? info) => info?.Kind switch
    {
        null => "value",
        JsonTypeInfoKind.Enumerable => "array",
        JsonTypeInfoKind.Dictionary or JsonTypeInfoKind.Object => "object",
        _ => Describe(Nullable.GetUnderlyingType(info.Type) ?? info.Type),
    };

    private static string Describe(Type type) => type switch
    {
        _ when type == typeof(string) || type == typeof(char) => "string",
        _ when type == typeof(Uri) => "absolute URI string (RFC 3986, such as https://example.com/path)",
        _ when type == typeof(bool) => "boolean",
        _ when type.IsEnum => $"value (one of {string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.SnakeCaseLower.ConvertName))})",
        // With its range: a whole number too large for the type (99999999999 for an int) is refused here too.
        _ when IntegerRange(type) is { } range => string.Create(CultureInfo.InvariantCulture, $"integer (a whole number from {range.Min} to {range.Max})"),
        _ when type == typeof(Int128) || type == typeof(UInt128) => "integer",
        _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) || type == typeof(Half) => "number",
        _ when type == typeof(DateTime) || type == typeof(DateTimeOffset) => "date-time string (RFC 3339, a date, a time and an offset, such as 2026-01-02T03:04:05Z)",
        _ when type == typeof(DateOnly) => "date string (yyyy-MM-dd)",
        _ when type == typeof(TimeOnly) => "time string (HH:mm:ss[.fffffff])",
        _ when type == typeof(TimeSpan) => "time span string ([-][d.]hh:mm:ss[.fffffff])",
        _ when type == typeof(Guid) => "UUID string",
        _ when type == typeof(byte[]) => "base64 string",
        _ when type == typeof(JsonElement) || typeof(System.Text.Json.Nodes.JsonNode).IsAssignableFrom(type) => "value",
        _ => "object",
    };

    /// <summary>
    /// The whole numbers an integer type holds, which the reader refuses beyond and the argument's schema says; null for
    /// any other type (and for Int128 and UInt128, whose ranges no client's numbers reach).
    /// </summary>
    public static (Int128 Min, Int128 Max)? IntegerRange(Type type) => type switch
    {
        _ when type == typeof(int) => (int.MinValue, int.MaxValue),
        _ when type == typeof(long) => (long.MinValue, long.MaxValue),
        _ when type == typeof(short) => (short.MinValue, short.MaxValue),
        _ when type == typeof(byte) => (byte.MinValue, byte.MaxValue),
        _ when type == typeof(sbyte) => (sbyte.MinValue, sbyte.MaxValue),
        _ when type == typeof(ushort) => (ushort.MinValue, ushort.MaxValue),
        _ when type == typeof(uint) => (uint.MinValue, uint.MaxValue),
        _ when type == typeof(ulong) => (ulong.MinValue, ulong.MaxValue),
        _ => null,
    };
}
