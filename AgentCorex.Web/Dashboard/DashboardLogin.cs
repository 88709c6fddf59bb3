using System.Text.Encodings.Web;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.DataProtection;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// A login form for browsers, besides HTTP basic auth. The dashboard's 401 is a page with the form, which a browser
/// shows once its own prompt is dismissed; <c>POST /hangfire/login</c> checks the key and answers with a session cookie
/// for <see cref="Lifetime"/>: HttpOnly, SameSite=Strict, on /hangfire only. The cookie holds which key opened the
/// session (<see cref="ApiKeyAuthenticator.SessionOf"/>), never the key itself, protected by Data Protection (whose key
/// ring every node reads from the shared database). The gate looks that key up on every request, so a revoked key's
/// session ends at once. <c>/hangfire/logout</c> deletes it.
/// </summary>
internal sealed class DashboardLogin(IDataProtectionProvider dataProtection, ApiKeyAuthenticator authenticator)
{
    public const string CookieName = "agentcorex_dashboard";
    public const string LoginPath = "/login";
    public const string LogoutPath = "/logout";
    public const string KeyField = "key";
    public const string ReturnField = "return";

    /// <summary>Data Protection's purpose for sessions; v1's cookies held the key itself, and are refused.</summary>
    public const string SessionPurpose = "AgentCorex.Dashboard.Session.v2";

    /// <summary>How long a session lasts: a working day; the form asks again after it.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector protector =
        dataProtection.CreateProtector(SessionPurpose).ToTimeLimitedDataProtector();

    /// <summary>
    /// The admin key of the request's session, or null: no cookie, one that is expired, altered or from another key
    /// ring, or one whose key is revoked, no longer an admin's, or no longer configured.
    /// </summary>
    public async ValueTask<ApiKeyIdentity?> SessionIdentityAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.Cookies.TryGetValue(CookieName, out var cookie) || string.IsNullOrEmpty(cookie) || cookie.Length > MaxCookieLength)
        {
            return null;
        }
        string session;
        try
        {
            session = protector.Unprotect(cookie);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
        return await authenticator.FindSessionAsync(session, cancellationToken);
    }

    /// <summary>Answers /hangfire/login and /hangfire/logout; false for any other route of the dashboard.</summary>
    public async Task<bool> TryAnswerAsync(HttpContext context, string route)
    {
        if (route.Equals(LogoutPath, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Cookies.Delete(CookieName, CookieOptions(context.Request));
            context.Response.Redirect(DashboardExtensions.Path + LoginPath);
            return true;
        }
        if (!route.Equals(LoginPath, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        {
            await WriteFormAsync(context, StatusCodes.Status200OK, ReturnPath(context.Request.Query[ReturnField]), problem: null);
            return true;
        }
        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await ApiExceptionHandler.WriteMethodNotAllowedAsync(context, "GET, HEAD, POST", context.RequestAborted);
            return true;
        }
        var form = await DashboardRequestCheck.TryReadFormAsync(context.Request);
        var returnPath = ReturnPath(form?[ReturnField]);
        var key = form?[KeyField].ToString().Trim();
        var identity = string.IsNullOrEmpty(key) || key.Length > MaxKeyLength ? null : await authenticator.AuthenticateAsync(key, context.RequestAborted);
        if (identity is not { IsAdmin: true })
        {
            DashboardGate.Challenge(context.Response);
            await WriteFormAsync(context, StatusCodes.Status401Unauthorized, returnPath, "That is not an admin key of this server.");
            return true;
        }
        var options = CookieOptions(context.Request);
        options.Expires = DateTimeOffset.UtcNow + Lifetime;
        context.Response.Cookies.Append(CookieName, protector.Protect(ApiKeyAuthenticator.SessionOf(identity, key!), options.Expires.Value), options);
        // 303: the browser follows with a GET, so reloading the dashboard does not post the key again.
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = returnPath;
        return true;
    }

    /// <summary>The dashboard's 401 for a browser: the form, with the page it asked for to return to.</summary>
    public static Task WriteChallengeAsync(HttpContext context) =>
        WriteFormAsync(context, StatusCodes.Status401Unauthorized, ReturnPath(context.Request.PathBase + context.Request.Path + context.Request.QueryString), problem: null);

    /// <summary>Whether the client reads HTML (a browser's navigation), so that its 401 is better a page than JSON.</summary>
    public static bool WantsHtml(HttpRequest request) =>
        request.Headers.Accept.Any(accept => accept?.Contains("text/html", StringComparison.OrdinalIgnoreCase) == true);

    private static CookieOptions CookieOptions(HttpRequest request) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = DashboardExtensions.Path,
        IsEssential = true,
    };

    /// <summary>Where to go once logged in: a page of the dashboard (not the login or logout), never another site (an open redirect).</summary>
    private static string ReturnPath(string? asked) =>
        asked is { Length: <= 2000 }
        && (asked == DashboardExtensions.Path || asked.StartsWith(DashboardExtensions.Path + "/", StringComparison.Ordinal))
        && !asked.StartsWith(DashboardExtensions.Path + LoginPath, StringComparison.OrdinalIgnoreCase)
        && !asked.StartsWith(DashboardExtensions.Path + LogoutPath, StringComparison.OrdinalIgnoreCase)
        && !asked.Contains('\\') && !asked.Contains("//", StringComparison.Ordinal)
        && asked.All(c => c is > ' ' and < (char)127) // as a request's own path and query are written: nothing a Location header cannot carry
            ? asked
            : DashboardExtensions.Path;

    private static async Task WriteFormAsync(HttpContext context, int status, string returnPath, string? problem)
    {
        var html = HtmlEncoder.Default;
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var problemLine = problem is null ? "" : $"""<p class="problem" role="alert">{html.Encode(problem)}</p>""";
        await context.Response.WriteAsync(
            $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>AgentCorex jobs: log in</title>
            <style>
            body { font-family: system-ui, sans-serif; background: #f5f5f5; margin: 0; }
            main { max-width: 26rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: .5rem; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
            h1 { font-size: 1.3rem; margin-top: 0; }
            label { display: block; margin-bottom: .4rem; }
            input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
            button { margin-top: 1rem; padding: .5rem 1.2rem; font-size: 1rem; }
            .problem { color: #b00020; }
            </style>
            </head>
            <body>
            <main>
            <h1>AgentCorex jobs</h1>
            <p>The dashboard is for admin keys.</p>
            {{problemLine}}
            <form method="post" action="{{html.Encode(DashboardExtensions.Path + LoginPath)}}">
            <label for="key">Admin API key</label>
            <input type="password" id="key" name="{{KeyField}}" autocomplete="current-password" required autofocus>
            <input type="hidden" name="{{ReturnField}}" value="{{html.Encode(returnPath)}}">
            <button type="submit">Log in</button>
            </form>
            </main>
            </body>
            </html>
            """, context.RequestAborted);
    }

    /// <summary>A protected session is a few hundred characters; anything much longer is not one of ours.</summary>
    private const int MaxCookieLength = 4096;

    /// <summary>
    /// Longer than any key this server makes, or that an operator would configure (Auth:AdminKey): not looked up.
    /// </summary>
    private const int MaxKeyLength = 1024;
}
