using System.Security.Cryptography;
using System.Text;

namespace AgentCorex.Web.Auth;

/// <summary>
/// The format of an API key: <c>acx_&lt;12-char id&gt;_&lt;40-char secret&gt;</c>. The id finds the row; the
/// secret's SHA-256 is compared in constant time. The secret has over 200 random bits, so a fast hash is
/// enough: there is nothing to brute-force that a slow hash would protect.
/// </summary>
public static class ApiKeySecrets
{
    private const string Prefix = "acx_";
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
    private const int IdLength = 12;
    private const int SecretLength = 40;

    public static (string KeyId, string ApiKey, byte[] SecretHash) Generate()
    {
        var id = RandomNumberGenerator.GetString(Alphabet, IdLength);
        var secret = RandomNumberGenerator.GetString(Alphabet, SecretLength);
        return ("key_" + id, $"{Prefix}{id}_{secret}", Hash(secret));
    }

    /// <summary>Splits a presented key into its key id and secret, or false when it is not in our format.</summary>
    public static bool TryParse(string presented, out string keyId, out string secret)
    {
        keyId = secret = "";
        if (presented.Length != Prefix.Length + IdLength + 1 + SecretLength
            || !presented.StartsWith(Prefix, StringComparison.Ordinal)
            || presented[Prefix.Length + IdLength] != '_')
        {
            return false;
        }
        keyId = "key_" + presented.Substring(Prefix.Length, IdLength);
        secret = presented[(Prefix.Length + IdLength + 1)..];
        return true;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(string secret, byte[] expectedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(secret), expectedHash);

    /// <summary>
    /// Whether a presented key is the expected one, in time that depends on neither where they differ nor the
    /// expected key's length. For the configured admin key, which the server holds anyway: no hash per request.
    /// </summary>
    public static bool EqualsInConstantTime(string presented, string expected)
    {
        if (expected.Length == 0)
        {
            return false; // no key is configured: nothing matches, and there is nothing to time
        }
        var difference = presented.Length ^ expected.Length;
        for (var i = 0; i < presented.Length; i++)
        {
            difference |= presented[i] ^ expected[i % expected.Length];
        }
        return difference == 0;
    }
}
