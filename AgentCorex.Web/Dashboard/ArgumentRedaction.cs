using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AgentCorex.Web.Dashboard;

/// <summary>Hides the values of arguments whose names say they are secret, at any depth.</summary>
public static partial class ArgumentRedaction
{
    public const string Redacted = "[REDACTED]";

    public static string Redact(string json)
    {
        var node = JsonNode.Parse(json);
        Redact(node);
        return node?.ToJsonString() ?? "null";
    }

    private static void Redact(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, value) in obj.ToList())
                {
                    if (IsSecret(name))
                    {
                        obj[name] = Redacted;
                    }
                    else
                    {
                        Redact(value);
                    }
                }
                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    Redact(item);
                }
                break;
        }
    }

    /// <summary>
    /// Whether a name says its value is secret. Words of a name may be joined by '_', '-', a space or nothing
    /// ("api key", "apiKey"). "token" is a secret's word (access_token) and a count's (max_tokens, tokens_used,
    /// token_count, as model-calling tools name their budgets): a name that is only a count of tokens is shown.
    /// </summary>
    private static bool IsSecret(string name) =>
        SecretWord().IsMatch(name)
        || (name.Contains("token", StringComparison.OrdinalIgnoreCase) && !TokenCount().IsMatch(Separators().Replace(name, "")));

    [GeneratedRegex(@"secret|passw(or)?d|pass[_\-\s]?phrase|pwd|api[_\-\s]?key|authorization|credential|private[_\-\s]?key", RegexOptions.IgnoreCase)]
    private static partial Regex SecretWord();

    // Matched against the name with its separators taken out: maxtokens, maxoutputtokens, tokensused, tokencount.
    [GeneratedRegex(@"^(?:(?:max|min|num|number|total|used|remaining|input|output|prompt|completion|context|reasoning|cached|estimated)+tokens(?:used|count|limit|total|remaining)?|tokens(?:used|count|limit|total|remaining|budget)|token(?:count|limit|budget|usage)s?)$", RegexOptions.IgnoreCase)]
    private static partial Regex TokenCount();

    [GeneratedRegex(@"[_\-\s]")]
    private static partial Regex Separators();
}
