using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using AgentCorex.Tools;
using AgentCorex.Web.Api;

namespace AgentCorex.Web.Tools;

/// <summary>
/// Arguments written as strings of a format, read exactly as their schema says them. System.Text.Json's own readers take
/// more than the exporter's schema allows: a date alone, or a time without an offset, for a <c>date-time</c> (RFC 3339
/// needs both); any string, relative ones included, for a <c>uri</c>; <c>3:04</c> for a time. A time of day has no
/// offset, which JSON Schema's <c>time</c> requires, so a <see cref="TimeOnly"/> is published as a pattern instead.
/// </summary>
internal static class ArgumentFormats
{
    /// <summary>
    /// RFC 3339's date-time: its letters may be lower case, the date and time may be parted by a space (as its note
    /// allows, and JSON Schema's validators take), its fraction any length (read to 100 ns).
    /// </summary>
    private static readonly Regex DateTimeText = PublishedPatterns.Strict(@"^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]+))?([Zz]|[+-][0-9]{2}:[0-9]{2})$");

    /// <summary>RFC 3986's absolute URI: a scheme, then only the characters a URI may hold, a % before two hex digits.</summary>
    private static readonly Regex AbsoluteUriText = PublishedPatterns.Strict(@"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$");

    public const string TimeOfDayPattern = @"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?$";

    public const string TimeSpanPattern = @"^-?([0-9]+\.)?([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,7})?$";

    private static readonly Regex TimeOfDayText = PublishedPatterns.Strict(TimeOfDayPattern);

    private static readonly Regex TimeSpanText = PublishedPatterns.Strict(TimeSpanPattern);

    /// <summary>The readers, for the arguments' options (the schema's exporter sees System.Text.Json's own, which it knows how to describe).</summary>
    public static IEnumerable<JsonConverter> Readers =>
    [
        new StringReader<DateTimeOffset>(TryReadDateTime),
        new StringReader<DateTime>(TryReadUtcDateTime),
        new StringReader<Uri>(TryReadAbsoluteUri),
        new StringReader<TimeOnly>(TryReadTimeOfDay),
        new StringReader<TimeSpan>(TryReadTimeSpan),
    ];

    /// <summary>
    /// Says in an argument's schema what its reader takes, where the exporter's schema says otherwise: a pattern for a
    /// time of day (without <c>time</c>, which needs an offset), and hours and minutes in range for a time span.
    /// </summary>
    public static void Describe(Type type, JsonObject schema)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(TimeOnly))
        {
            schema.Remove("format");
            schema["pattern"] = TimeOfDayPattern;
        }
        else if (type == typeof(TimeSpan))
        {
            schema["pattern"] = TimeSpanPattern;
        }
    }

    private static bool TryReadDateTime(string text, out DateTimeOffset value)
    {
        value = default;
        if (DateTimeText.Match(text) is not { Success: true, Groups: [_, var date, var time, var fraction, var offset] })
        {
            return false;
        }
        var normalized = $"{date.Value}T{time.Value}.{fraction.Value[..Math.Min(fraction.Length, 7)]}{(offset.Value is "Z" or "z" ? "+00:00" : offset.Value)}";
        return DateTimeOffset.TryParseExact(normalized, "yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFFzzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    /// <summary>A <see cref="DateTime"/> is read as the instant its offset says, in UTC (its Kind Utc): not in the server's own time zone.</summary>
    private static bool TryReadUtcDateTime(string text, out DateTime value)
    {
        var read = TryReadDateTime(text, out var instant);
        value = instant.UtcDateTime;
        return read;
    }

    private static bool TryReadAbsoluteUri(string text, [NotNullWhen(true)] out Uri? value)
    {
        value = null;
        return AbsoluteUriText.IsMatch(text) && Uri.TryCreate(text, UriKind.Absolute, out value);
    }

    private static bool TryReadTimeOfDay(string text, out TimeOnly value)
    {
        value = default;
        return TimeOfDayText.IsMatch(text) && TimeOnly.TryParseExact(text, "HH':'mm':'ss.FFFFFFF", CultureInfo.InvariantCulture, DateTimeStyles.None, out value);
    }

    private static bool TryReadTimeSpan(string text, out TimeSpan value)
    {
        value = default;
        return TimeSpanText.IsMatch(text) && TimeSpan.TryParseExact(text, "c", CultureInfo.InvariantCulture, out value);
    }

    private delegate bool TryRead<T>(string text, [NotNullWhen(true)] out T? value);

    /// <summary>
    /// A string read by <paramref name="tryRead"/>; anything else is a <see cref="JsonException"/>, which the binder names
    /// by its path and the type's description. A dictionary's key of the type is still System.Text.Json's to read (the
    /// schema says nothing of keys). Arguments are only read: written, a value is System.Text.Json's.
    /// </summary>
    private sealed class StringReader<T>(TryRead<T> tryRead) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String && tryRead(reader.GetString()!, out var value) ? value : throw new JsonException();

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value, ApiJson.Options);
    }
}
