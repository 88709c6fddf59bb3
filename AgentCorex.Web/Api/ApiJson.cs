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

    /// <summary>An unpaired high surrogate: a JSON text is Unicode, where none stands alone (System.Text.Json refuses one escaped).</summary>
    private const string UnspelledPrefix = "\uD800";

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

    /// <summary>The condition of a property's <c>[JsonIgnore]</c>, or null when it has none.</summary>
    public static JsonIgnoreCondition? IgnoreCondition(JsonPropertyInfo property) =>
        property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true) is [JsonIgnoreAttribute ignore]
            ? ignore.Condition
            : null;

    /// <summary>
    /// Whether the property is a field of the JSON, one a client may send: not one <see cref="RemoveIgnoredProperties"/>
    /// left in the contract, under a name no JSON spells, for its constructor parameter. Told by that name, not by reading
    /// the property's attributes again: the binder asks of every argument at every bind, twice for a job.
    /// </summary>
    public static bool IsField(JsonPropertyInfo property) => !property.Name.StartsWith(UnspelledPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Takes a <c>[JsonIgnore]</c> property out of its type's contract. System.Text.Json keeps it there and skips its
    /// value when reading, so a request that refuses fields it does not have took <c>"gives_max_concurrent": "x"</c> in
    /// silence (KeyRateLimitsRequest's bookkeeping) and listed it among its fields when refusing a misspelt one.
    /// </summary>
    /// <remarks>
    /// One a constructor parameter binds to (a positional record's <c>[property: JsonIgnore]</c>) cannot go: without it
    /// the parameter binds to nothing, and every read of the type throws. It stays, ignored (its parameter takes its
    /// default), under a name that begins with an unpaired surrogate, which no JSON text can spell, and not required
    /// (a parameter without a default would be): a field of its name is refused as unknown, as any other type's.
    /// </remarks>
    private static void RemoveIgnoredProperties(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }
        for (var i = type.Properties.Count - 1; i >= 0; i--)
        {
            var property = type.Properties[i];
            if (IgnoreCondition(property) != JsonIgnoreCondition.Always)
            {
                continue;
            }
            if (property.AssociatedParameter is null)
            {
                type.Properties.RemoveAt(i);
            }
            else
            {
                property.Name = UnspelledPrefix + property.Name;
                property.IsRequired = false;
            }
        }
    }
}
