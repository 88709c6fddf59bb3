namespace AgentCorex.Web.Auth;

public sealed class AuthOptions
{
    public const string Section = "Auth";

    public const int MinAdminKeyLength = 24;
    public const int MaxAdminKeyLength = 256;

    /// <summary>
    /// An admin key given by configuration (env Auth__AdminKey), 24 to 256 characters, no white space or control
    /// characters. Never logged, never stored.
    /// </summary>
    public string? AdminKey { get; set; }

    /// <summary>
    /// A secret setting (this key, Monitoring:ScrapeToken) holds no white space or control character: one read from a
    /// secret file kept its newline, which no client sends, and one of spaces was a secret nonetheless.
    /// </summary>
    internal static bool HasNoBlanks(string? secret) =>
        string.IsNullOrEmpty(secret) || !secret.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));

    /// <summary>
    /// How long a node trusts what it read about a key. A revocation on this node takes effect at once;
    /// on other nodes sharing the database, within this time.
    /// </summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(2);
}
