using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// Signing secrets are Standard Webhooks secrets: <c>whsec_</c> and the base64 of 24 to 64 random bytes. The
/// Standard Webhooks signature is keyed by those decoded bytes, as its libraries take a secret; the
/// <c>X-AgentCorex-Signature</c> by the secret as written (its UTF-8 bytes, <c>whsec_</c> included), as a receiver that
/// reads "an HMAC with the webhook's secret" keys it. A secret must be usable to sign, so it cannot be hashed:
/// it is stored protected with Data Protection, whose key ring every node reads from the shared database.
/// </summary>
public sealed class WebhookSecrets(IDataProtectionProvider dataProtection)
{
    public const string Prefix = "whsec_";
    public const int MinBytes = 24;
    public const int MaxBytes = 64;

    /// <summary>
    /// A secret a client may register, as a pattern so that the OpenAPI document states it: <c>whsec_</c> and the padded
    /// base64 of <see cref="MinBytes"/> to <see cref="MaxBytes"/> bytes, nothing else. 8 to 21 groups of four characters
    /// are 24 to 63 bytes, and a last padded group adds one or two (one only after 21). No white space, which Convert's
    /// reader would skip but Standard Webhooks libraries refuse to decode: such a secret would fail in every receiver.
    /// (?!\n) because .NET's $ also matches before a final newline.
    /// </summary>
    public const string Pattern =
        @"^whsec_(?:(?:[A-Za-z0-9+/]{4}){8,20}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?|(?:[A-Za-z0-9+/]{4}){21}(?:[A-Za-z0-9+/]{2}==)?)(?!\n)$";

    private readonly IDataProtector protector = dataProtection.CreateProtector("AgentCorex.Webhooks.Secret.v1");

    public static string Generate() => Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>
    /// The HMAC key: the bytes the base64 after <c>whsec_</c> stands for. A secret stored before white space was refused
    /// still signs as it did.
    /// </summary>
    public static byte[] KeyOf(string secret) =>
        TryDecode(secret, out var key) ? key : throw new ArgumentException("Not a whsec_ secret.", nameof(secret));

    public string Protect(string secret) => protector.Protect(secret);

    /// <summary>
    /// The secret as stored, when it can still sign: false when Data Protection cannot unprotect it (its key lost
    /// from the key ring, or the ring restored without it; the value damaged) or it no longer decodes as a
    /// <c>whsec_</c> secret. Nothing of it can come back then, so its webhook must be registered again.
    /// </summary>
    public bool TryUnprotect(string protectedSecret, [NotNullWhen(true)] out string? secret)
    {
        secret = null;
        string unprotected;
        try
        {
            unprotected = protector.Unprotect(protectedSecret);
        }
        catch (CryptographicException)
        {
            return false;
        }
        if (!TryDecode(unprotected, out _))
        {
            return false;
        }
        secret = unprotected;
        return true;
    }

    private static bool TryDecode(string? secret, out byte[] key)
    {
        key = [];
        if (secret is null || !secret.StartsWith(Prefix, StringComparison.Ordinal) || secret.Length > Prefix.Length + 100)
        {
            return false;
        }
        var buffer = new byte[MaxBytes + 3];
        if (!Convert.TryFromBase64String(secret[Prefix.Length..], buffer, out var written) || written is < MinBytes or > MaxBytes)
        {
            return false;
        }
        key = buffer[..written];
        return true;
    }
}
