using System.Text.Encodings.Web;
using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// A login form for browsers, besides HTTP basic auth. The dashboard's 401 is a page with the form, which a browser
/// shows once its own prompt is dismissed; <c>POST /hangfire/login</c> checks the key, opens a session in the database
/// (<see cref="DashboardSessions"/>) and answers with its cookie for <see cref="Lifetime"/>: HttpOnly, SameSite=Strict,
/// on /hangfire only (under Server:PathBase, when set). The cookie holds the session's id and which key opened it (<see cref="ApiKeyAuthenticator.SessionOf"/>),
/// never the key itself, protected by Data Protection (whose key ring every node reads from the shared database). The
/// gate looks both up on every request, so a revoked key's sessions end at once, and <c>/hangfire/logout</c>, which
/// deletes the session's row, ends it on every node, whoever still holds the cookie.
/// </summary>
internal sealed class DashboardLogin(
    IDataProtectionProvider dataProtection,
    ApiKeyAuthenticator authenticator,
    FailedAuthentications failures,
    TimeProvider time,
    IOptions<ServerOptions> server)
{
    public const string CookieName = "agentcorex_dashboard";
    public const string LoginPath = "/login";
    public const string LogoutPath = "/logout";
    public const string KeyField = "key";
    public const string ReturnField = "return";

    /// <summary>
    /// Data Protection's purpose for sessions. v1's cookies held the key itself, v2's only which key opened them (no
    /// session that logging out could end): both are refused.
    /// </summary>
    public const string SessionPurpose = "AgentCorex.Dashboard.Session.v3";

    /// <summary>How long a session lasts: a working day; the form asks again after it.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    private readonly ITimeLimitedDataProtector protector =
        dataProtection.CreateProtector(SessionPurpose).ToTimeLimitedDataProtector();

    /// <summary>
    /// The dashboard's path as the client reaches it: under Server:PathBase when one is set. The setting, not the
    /// request's path base: UsePathBase matches /AgentCorex as /agentcorex, and a browser, which matches a cookie's path
    /// case-sensitively, would then keep a session for a casing that no link of the dashboard uses.
    /// </summary>
    private readonly string dashboard = server.Value.PathBase + DashboardExtensions.Path;

    /// <summary>
    /// The admin key of the request's session, or null: no cookie, one that is expired, altered or from another key
    /// ring, one whose session was logged out, or one whose key is revoked, no longer an admin's, or no longer configured.
    /// </summary>
    /// <param name="staticResource">
    /// A file of Hangfire's own (its scripts, styles, fonts: the same in every install, with nothing of the jobs), which
    /// a page asks for several of: the session's row is not read for these, only the cookie and its key.
    /// </param>
    public async ValueTask<ApiKeyIdentity?> SessionIdentityAsync(
        HttpRequest request, DashboardSessions sessions, bool staticResource, CancellationToken cancellationToken)
    {
        if (ReadCookie(request) is not { } cookie || (!staticResource && !await sessions.IsOpenAsync(cookie.SessionId, cancellationToken)))
        {
            return null;
        }
        return await authenticator.FindSessionAsync(cookie.KeySession, cancellationToken);
    }

    /// <summary>Answers /hangfire/login and /hangfire/logout; false for any other route of the dashboard.</summary>
    public async Task<bool> TryAnswerAsync(HttpContext context, string route, DashboardSessions sessions)
    {
        if (route.Equals(LogoutPath, StringComparison.OrdinalIgnoreCase))
        {
            if (!AskedByThisSite(context.Request))
            {
                context.Response.Redirect(dashboard); // a link or an image on another page logs no one out
                return true;
            }
            if (ReadCookie(context.Request) is { } cookie)
            {
                await sessions.EndAsync(cookie.SessionId, context.RequestAborted);
            }
            context.Response.Cookies.Delete(CookieName, CookieOptions(context.Request));
            context.Response.Redirect(dashboard + LoginPath);
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
        ApiKeyCheck? check = string.IsNullOrEmpty(key) || key.Length > MaxKeyLength ? null : await authenticator.AuthenticateAsync(key, context.RequestAborted);
        if (check?.Identity is not { IsAdmin: true } identity)
        {
            if (!string.IsNullOrEmpty(key))
            {
                failures.ReportAdminRefusal(context, CredentialScheme.Form, check); // an empty form is no attempt
            }
            // Still 401: no key of this server's admins was given (403 would say a known key was refused, and a 200
            // would let a script take the failure for a login). A 401 must carry a challenge; Basic's would make the
            // browser put its own prompt over this form and its error, so the challenge names the form, a scheme that
            // browsers do not prompt for. The dashboard's other 401s still challenge Basic (DashboardGate).
            context.Response.Headers.WWWAuthenticate = FormChallenge;
            await WriteFormAsync(context, StatusCodes.Status401Unauthorized, returnPath, "That is not an admin key of this server.");
            return true;
        }
        var options = CookieOptions(context.Request);
        options.Expires = time.GetUtcNow() + Lifetime;
        var sessionId = await sessions.OpenAsync(identity.KeyId, options.Expires.Value, context.RequestAborted);
        var cookieValue = sessionId + SessionSeparator + ApiKeyAuthenticator.SessionOf(identity, key!);
        context.Response.Cookies.Append(CookieName, protector.Protect(cookieValue, options.Expires.Value), options);
        // 303: the browser follows with a GET, so reloading the dashboard does not post the key again.
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = returnPath;
        return true;
    }

    /// <summary>The dashboard's 401 for a browser: the form, with the page it asked for to return to.</summary>
    public Task WriteChallengeAsync(HttpContext context) =>
        WriteFormAsync(
            context,
            StatusCodes.Status401Unauthorized,
            ReturnPath(server.Value.PathBase + context.Request.Path + context.Request.QueryString),
            problem: null);

    /// <summary>Whether the client reads HTML (a browser's navigation), so that its 401 is better a page than JSON.</summary>
    public static bool WantsHtml(HttpRequest request) =>
        request.Headers.Accept.Any(accept => accept?.Contains("text/html", StringComparison.OrdinalIgnoreCase) == true);

    /// <summary>What the request's cookie holds once unprotected, or null: none, or not one of this server's current sessions.</summary>
    private SessionCookie? ReadCookie(HttpRequest request)
    {
        if (!request.Cookies.TryGetValue(CookieName, out var cookie) || string.IsNullOrEmpty(cookie) || cookie.Length > MaxCookieLength)
        {
            return null;
        }
        try
        {
            var parts = protector.Unprotect(cookie).Split(SessionSeparator, 2);
            return parts.Length == 2 ? new SessionCookie(parts[0], parts[1]) : null;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }

    /// <summary>Between the session's id and which key opened it; neither has one.</summary>
    private const char SessionSeparator = ' ';

    private sealed record SessionCookie(string SessionId, string KeySession);

    private CookieOptions CookieOptions(HttpRequest request) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = request.IsHttps,
        Path = dashboard,
        IsEssential = true,
    };

    /// <summary>
    /// Whether the browser says the request comes from the dashboard's own pages or from the operator (a typed address, a
    /// bookmark): Sec-Fetch-Site same-origin or none. Logging out is a GET (Hangfire's menu holds links), so a page of
    /// another site, or of another host of the same site (to which the SameSite cookie still goes), could otherwise end
    /// an operator's session. A client that sends no Sec-Fetch-Site (a script, an old browser) is taken at its word.
    /// </summary>
    private static bool AskedByThisSite(HttpRequest request) =>
        request.Headers["Sec-Fetch-Site"].ToString() is "" or "same-origin" or "none";

    /// <summary>Where to go once logged in: a page of the dashboard (not the login or logout), never another site (an open redirect).</summary>
    private string ReturnPath(string? asked) =>
        asked is { Length: <= 2000 }
            && (asked == dashboard || asked.StartsWith(dashboard + "/", StringComparison.Ordinal))
            && !asked.StartsWith(dashboard + LoginPath, StringComparison.OrdinalIgnoreCase)
            && !asked.StartsWith(dashboard + LogoutPath, StringComparison.OrdinalIgnoreCase)
            && !asked.Contains('\\') && !asked.Contains("//", StringComparison.Ordinal)
            && asked.All(c => c is > ' ' and < (char)127) // as a request's own path and query are written: nothing a Location header cannot carry
                ? asked
                : dashboard;

    private async Task WriteFormAsync(HttpContext context, int status, string returnPath, string? problem)
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
            <link rel="icon" href="data:,">
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
            <form method="post" action="{{html.Encode(dashboard + LoginPath)}}">
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

    /// <summary>The challenge of a failed login, which a browser answers with the form rather than a prompt of its own.</summary>
    private const string FormChallenge = "Form realm=\"AgentCorex dashboard\"";

    /// <summary>A protected session is a few hundred characters; anything much longer is not one of ours.</summary>
    private const int MaxCookieLength = 4096;

    /// <summary>
    /// Longer than any key this server makes, or that an operator would configure (Auth:AdminKey): not looked up.
    /// </summary>
    private const int MaxKeyLength = 1024;
}
