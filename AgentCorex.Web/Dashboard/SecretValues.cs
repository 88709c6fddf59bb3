using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Secrets that a string value carries whatever its key is named: an HTTP credential (<c>Bearer ...</c>,
/// <c>Basic ...</c>), a PEM private key, a JSON Web Token, the password of a URL (<c>postgres://app:pw@db/x</c>),
/// a URL's secret-named query parameters (<c>?access_token=...</c>) and a connection string's secret-named settings
/// (<c>Host=db;Password=...</c>). Only the secret is hidden, so that the operator still sees which host or user the
/// value names.
/// </summary>
internal static partial class SecretValues
{
    /// <summary>
    /// A value is a client's, up to the size of a request: matched in time linear in its length, whatever it holds, so
    /// that one made to backtrack (many starts, each scanning to the end) does not hold the operator's page.
    /// </summary>
    private const RegexOptions Linear = RegexOptions.NonBacktracking;

    /// <summary>The text with its secrets hidden; the same instance when it has none.</summary>
    public static string Redact(string text)
    {
        var hidden = HttpCredential().Replace(text, HttpCredentialHidden);
        hidden = PrivateKeyBlock().Replace(hidden, ArgumentRedaction.Redacted);
        hidden = Jwt().Replace(hidden, ArgumentRedaction.Redacted);
        hidden = UrlPassword().Replace(hidden, match => match.Groups["before"].Value + ArgumentRedaction.Redacted + "@");
        hidden = QueryParameter().Replace(hidden, SecretSetting);
        hidden = ConnectionSetting().Replace(hidden, SecretSetting);
        return hidden == text ? text : hidden;
    }

    /// <summary>A name=value setting with its value hidden when its name says it is secret.</summary>
    private static string SecretSetting(Match match) =>
        ArgumentRedaction.IsSecret(match.Groups["name"].Value)
            ? match.Groups["before"].Value + match.Groups["name"].Value + "=" + ArgumentRedaction.Redacted
            : match.Value;

    /// <summary>
    /// An HTTP credential wherever it is in the text (<c>curl -H "Authorization: Basic ..."</c>), hidden with its scheme.
    /// After an Authorization header's name any credential is one, of any scheme or none (<c>Authorization: token ghp_...</c>),
    /// as the value of a key so named is; elsewhere "bearer"
    /// and "basic" are words of prose too, so a Bearer token needs at least 16 characters ("the bearer of it", "Bearer
    /// bonds" stay) and Basic must decode to user:password as UTF-8 text ("Basic plan" stays).
    /// </summary>
    private static string HttpCredentialHidden(Match match)
    {
        var header = match.Groups["header"].Value;
        var credential = match.Groups["credential"].Value;
        var isCredential = header.Length > 0 || (match.Groups["scheme"].Value.Equals("bearer", StringComparison.OrdinalIgnoreCase)
            ? credential.Length >= 16
            : IsUserAndPassword(credential));
        return isCredential ? header + ArgumentRedaction.Redacted : match.Value;
    }

    private static bool IsUserAndPassword(string base64)
    {
        var bytes = new byte[base64.Length];
        if (!Convert.TryFromBase64String(base64, bytes, out var length))
        {
            return false;
        }
        var decoded = bytes.AsSpan(0, length);
        return Utf8.IsValid(decoded) && decoded.Contains((byte)':');
    }

    // After the header's name any scheme (token, ApiKey, Digest...) or none; elsewhere Bearer or Basic.
    [GeneratedRegex(
        @"(?:(?<header>\bauthorization\s*:\s*)(?:(?<scheme>[A-Za-z][A-Za-z0-9\-]*)\s+)?|\b(?<scheme>bearer|basic)\s+)(?<credential>[A-Za-z0-9\-._~+/]+=*)",
        RegexOptions.IgnoreCase | Linear)]
    private static partial Regex HttpCredential();

    // PEM's "-----BEGIN RSA PRIVATE KEY-----" ... "-----END RSA PRIVATE KEY-----", or to the end of a value cut short.
    [GeneratedRegex(@"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)", RegexOptions.Singleline | Linear)]
    private static partial Regex PrivateKeyBlock();

    // header.payload.signature, both JSON objects in base64url ("eyJ" is '{"'): a bearer token by itself.
    [GeneratedRegex(@"\beyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*", Linear)]
    private static partial Regex Jwt();

    // scheme://user:password@ — the user is kept, the password hidden.
    [GeneratedRegex(@"(?<before>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:]*:)[^\s/?#@]+@", Linear)]
    private static partial Regex UrlPassword();

    [GeneratedRegex(@"(?<before>[?&])(?<name>[^=&#\s?]+)=[^&#\s]*", Linear)]
    private static partial Regex QueryParameter();

    // Host=db; Password=x; or a single password=x: a setting runs to the next ';'. Its name is a few words at most
    // ("User Password"), so that prose with an '=' in it is left alone.
    [GeneratedRegex(@"(?<before>(?:^|;)\s*)(?<name>[A-Za-z][A-Za-z0-9_\-.]*(?: [A-Za-z0-9_\-.]+){0,2})\s*=[^;]*", Linear)]
    private static partial Regex ConnectionSetting();
}
