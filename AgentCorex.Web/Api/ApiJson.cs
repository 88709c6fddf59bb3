using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace AgentCorex.Web.Api;

/// <summary>
/// The API's JSON conventions: snake_case names and enum values, absent rather than null fields, and no field for a
/// property marked <c>[JsonIgnore]</c>.
/// </summary>
public static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = CreateReadOnly();

    private static JsonSerializerOptions CreateReadOnly()
    {
        var options = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = null;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.RespectNullableAnnotations = true;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.MaxDepth = 64;
        // {"tool":"echo","tool":"fail"} means nothing certain: refused, not read as its last value.
        options.AllowDuplicateProperties = false;
        // Responses are application/json, never HTML: quotes and '<' need no escaping there.
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        // A tool's enum arguments and results by name, as its schema lists them for an agent to choose from
        // ("very_high", not 1); a number is still read, as arguments stored before were written.
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: true));
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(RemoveIgnoredProperties);
        return options;
    }

    /// <summary>
    /// Takes a <c>[JsonIgnore]</c> property out of its type's contract. System.Text.Json keeps it there and skips its
    /// value when reading, so a request that refuses fields it does not have took <c>"gives_max_concurrent": "x"</c> in
    /// silence (KeyRateLimitsRequest's bookkeeping) and listed it among its fields when refusing a misspelt one.
    /// </summary>
    /// <summary>The condition of a property's <c>[JsonIgnore]</c>, or null when it has none.</summary>
    public static JsonIgnoreCondition? IgnoreCondition(JsonPropertyInfo property) =>
        property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true) is [JsonIgnoreAttribute ignore]
            ? ignore.Condition
            : null;

    private static void RemoveIgnoredProperties(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }
        for (var i = type.Properties.Count - 1; i >= 0; i--)
        {
            if (IgnoreCondition(type.Properties[i]) == JsonIgnoreCondition.Always)
            {
                type.Properties.RemoveAt(i);
            }
        }
    }
}
