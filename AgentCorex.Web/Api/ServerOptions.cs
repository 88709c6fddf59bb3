namespace AgentCorex.Web.Api;

public sealed class ServerOptions
{
    public const string Section = "Server";

    /// <summary>
    /// The path the server is reached under through a reverse proxy that forwards it unstripped (<c>/agentcorex</c> for
    /// https://host/agentcorex/), or empty for the site's root. Every URL the server writes (Location headers, the
    /// dashboard's links, form, redirects and cookie) carries it, so that a client that follows one stays under the proxy's
    /// prefix. It is a setting, not the proxy's X-Forwarded-Prefix: a header anyone reaching the server could send would
    /// move the dashboard's cookie and redirects where they liked.
    /// </summary>
    public string PathBase { get; set; } = "";

    /// <summary>
    /// A path, no query or fragment, no empty segment, no white space; not "/" itself (unset is the root). No '%' either:
    /// Kestrel decodes a request's path before UsePathBase compares it, so /agent%20corex would match no request at all.
    /// </summary>
    internal static bool IsValidPathBase(string? pathBase) =>
        string.IsNullOrEmpty(pathBase)
        || (pathBase.StartsWith('/') && !pathBase.EndsWith('/') && !pathBase.Contains("//", StringComparison.Ordinal)
            && !pathBase.Any(c => c is '?' or '#' or '\\' or '%' || char.IsWhiteSpace(c) || char.IsControl(c)));
}
