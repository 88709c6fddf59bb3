using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Web.Api;

namespace AgentCorex.Web.Tools;

/// <summary>
/// An enum argument read by the names its schema lists (<c>very_high</c>), or by number, as arguments stored by an
/// earlier version were written. System.Text.Json's reader of names also takes the C# name (<c>VeryHigh</c>), any case
/// of either, and a number in a string (<c>"1"</c>), none of which the schema allows: an agent that checks its arguments
/// against the schema would refuse what the server took. A [Flags] enum, whose schema lists no names, is left to it.
/// </summary>
internal sealed class PublishedEnumNames : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => Lists(typeToConvert);

    /// <summary>Whether the type is an enum whose schema lists its names.</summary>
    public static bool Lists(Type type) => type.IsEnum && !type.IsDefined(typeof(FlagsAttribute), inherit: false);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Reader<>).MakeGenericType(typeToConvert), options)!;

    /// <summary>The names as the API writes them, which are the schema's <c>enum</c> (and a dictionary's <c>propertyNames</c>).</summary>
    public static IReadOnlyList<string> Of(Type enumType) =>
        [.. Enum.GetValues(enumType).Cast<object>().Select(value => JsonSerializer.SerializeToElement(value, enumType, ApiJson.Options).GetString()!)];

    /// <summary>A dictionary's key that is none of the names: the binder says so, where it names a bad value by the dictionary's values.</summary>
    public sealed class UnknownKeyException(Type enumType) : JsonException
    {
        public string Expected { get; } = $"key (one of {string.Join(", ", Of(enumType))})";
    }

    private sealed class Reader<T>(JsonSerializerOptions options) : JsonConverter<T>
        where T : struct, Enum
    {
        /// <summary>The API's own converter (ApiJson), which writes the names and reads what passes here.</summary>
        private readonly JsonConverter<T> names = (JsonConverter<T>)options.Converters.OfType<JsonStringEnumConverter>().First().CreateConverter(typeof(T), options);

        private readonly HashSet<string> published = [.. Of(typeof(T))];

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && !published.Contains(reader.GetString()!)
                ? throw new JsonException()
                : names.Read(ref reader, typeToConvert, options);

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => names.Write(writer, value, options);

        /// <summary>
        /// A dictionary's key (<c>Dictionary&lt;Priority, int&gt;</c>), by the same names, which its schema's
        /// <c>propertyNames</c> lists: a number is no name there. Without it System.Text.Json refused every such dictionary
        /// (NotSupportedException), and every call of the tool failed INTERNAL_ERROR.
        /// </summary>
        public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            published.Contains(reader.GetString()!)
                ? names.ReadAsPropertyName(ref reader, typeToConvert, options)
                : throw new UnknownKeyException(typeof(T));

        public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            names.WriteAsPropertyName(writer, value, options);
    }
}
