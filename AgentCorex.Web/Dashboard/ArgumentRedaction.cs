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

    [GeneratedRegex("secret|token|passw(or)?d|pwd|api[_-]?key|authorization|credential|private[_-]?key", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
