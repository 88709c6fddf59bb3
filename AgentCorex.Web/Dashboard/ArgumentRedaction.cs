using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Hides secrets in JSON an operator's page shows, at any depth: the values of keys whose names say they are secret,
/// the value of a name/value pair whose name does (<c>{"name":"DB_PASSWORD","value":...}</c>, as environment variables
/// and HTTP headers are often passed), and secrets inside string values (<see cref="SecretValues"/>).
/// </summary>
public static partial class ArgumentRedaction
{
    public const string Redacted = "[REDACTED]";

    public static string Redact(string json) => Redact(JsonNode.Parse(json))?.ToJsonString(AsWritten) ?? "null";

    // As the API writes JSON: the page encodes it for HTML, so '&' and '<' stay readable here.
    private static readonly JsonSerializerOptions AsWritten = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The node with its secrets hidden: the same object or array changed in place, or a string's replacement.</summary>
    private static JsonNode? Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                var namesASecret = NamesASecret(obj);
                foreach (var (name, value) in obj.ToList())
                {
                    // An "auth" object is a section of settings (its secret-named ones are hidden in it); a scalar "auth" is a credential.
                    var secret = IsSecret(name) && !(value is JsonObject && name.Equals("auth", StringComparison.OrdinalIgnoreCase));
                    var redacted = secret || (namesASecret && IsPairValue(name)) ? JsonValue.Create(Redacted) : Redact(value);
                    if (!ReferenceEquals(redacted, value))
                    {
                        obj[name] = redacted;
                    }
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var item = array[i];
                    if (Redact(item) is var redacted && !ReferenceEquals(redacted, item))
                    {
                        array[i] = redacted;
                    }
                }
                break;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                var hidden = SecretValues.Redact(text);
                return ReferenceEquals(hidden, text) ? value : JsonValue.Create(hidden);
        }
        return node;
    }

    /// <summary>Whether the object is a name/value pair whose name (its "name" or "key") says the value is secret.</summary>
    private static bool NamesASecret(JsonObject obj) =>
        obj.Any(p => p.Key.ToLowerInvariant() is "name" or "key" && p.Value is JsonValue v && v.GetValueKind() == JsonValueKind.String && IsSecret(v.GetValue<string>()));

    private static bool IsPairValue(string name) => name.ToLowerInvariant() is "value" or "values";

    /// <summary>
    /// Whether a name says its value is secret. Words of a name may be joined by '_', '-', a space or nothing
    /// ("api key", "apiKey"). "token" is a secret's word (access_token) and a count's (max_tokens, tokens_used,
    /// token_count, as model-calling tools name their budgets): a name that is only a count of tokens is shown.
    /// </summary>
    internal static bool IsSecret(string name) =>
        SecretWord().IsMatch(name)
        || (name.Contains("token", StringComparison.OrdinalIgnoreCase) && !TokenCount().IsMatch(Separators().Replace(name, "")));

    // "auth", "pass" and "pw" only as the whole name: as words they begin "author", "passenger", "pwm".
    [GeneratedRegex(@"secret|passw(or)?d|pass[_\-\s]?phrase|pwd|(?:api|access|private|signing|encryption|master|account)[_\-\s]?key|authorization|credential|cookie|bearer|connection[_\-\s]?string|^(?:auth|pass|pw)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretWord();

    // Matched against the name with its separators taken out: maxtokens, maxoutputtokens, tokensused, tokencount.
    [GeneratedRegex(@"^(?:(?:max|min|num|number|total|used|remaining|input|output|prompt|completion|context|reasoning|cached|estimated)+tokens(?:used|count|limit|total|remaining)?|tokens(?:used|count|limit|total|remaining|budget)|token(?:count|limit|budget|usage)s?)$", RegexOptions.IgnoreCase)]
    private static partial Regex TokenCount();

    [GeneratedRegex(@"[_\-\s]")]
    private static partial Regex Separators();
}
