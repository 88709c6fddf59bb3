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
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum && !typeToConvert.IsDefined(typeof(FlagsAttribute), inherit: false);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(Reader<>).MakeGenericType(typeToConvert), options)!;

    private sealed class Reader<T>(JsonSerializerOptions options) : JsonConverter<T>
        where T : struct, Enum
    {
        /// <summary>The API's own converter (ApiJson), which writes the names and reads what passes here.</summary>
        private readonly JsonConverter<T> names = (JsonConverter<T>)options.Converters.OfType<JsonStringEnumConverter>().First().CreateConverter(typeof(T), options);

        /// <summary>The names as the API writes them, which are the schema's <c>enum</c>.</summary>
        private readonly HashSet<string> published = [.. Enum.GetValues<T>().Select(value => JsonSerializer.SerializeToElement(value, ApiJson.Options).GetString()!)];

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && !published.Contains(reader.GetString()!)
                ? throw new JsonException()
                : names.Read(ref reader, typeToConvert, options);

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => names.Write(writer, value, options);
    }
}
