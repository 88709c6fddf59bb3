using System.Security.Cryptography;
using System.Text;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// The two signatures on every request (see <see cref="WebhookSecrets"/> for their keys):
/// <c>X-AgentCorex-Signature: sha256=&lt;hex HMAC-SHA256 of the body&gt;</c>, keyed by the secret as written, and the
/// Standard Webhooks <c>webhook-signature: v1,&lt;base64 HMAC-SHA256 of "id.timestamp.body"&gt;</c>, keyed by its
/// decoded bytes, which also binds the delivery id and the time, so a receiver can refuse a replay.
/// </summary>
public static class WebhookSignatures
{
    public const string AgentCorexHeader = "X-AgentCorex-Signature";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    public static string AgentCorex(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static string StandardWebhooks(string secret, string id, long timestamp, byte[] body)
    {
        var key = WebhookSecrets.KeyOf(secret);
        var prefix = Encoding.UTF8.GetBytes($"{id}.{timestamp}.");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed, prefix.Length);
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed));
    }
}
