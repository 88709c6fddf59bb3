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
                    if (SecretName().IsMatch(name))
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

    // Words of a name may be joined by '_', '-', a space or nothing ("api key", "apiKey"). "token" also hides
    // harmless names (max_tokens): the safe side.
    [GeneratedRegex(@"secret|token|passw(or)?d|pass[_\-\s]?phrase|pwd|api[_\-\s]?key|authorization|credential|private[_\-\s]?key", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
