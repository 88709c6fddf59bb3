using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using RouteCollection = Hangfire.Dashboard.RouteCollection;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Only admin keys open the dashboard: as the password of HTTP basic auth (any user name; browsers prompt
/// for it), as a Bearer token (scripts), or through the login form's session (<see cref="DashboardLogin"/>).
/// Everyone else gets 401: a browser the login form, a script the contract's error; reported (<see cref="FailedAuthentications"/>)
/// when it sent an Authorization header. A session cookie that opens nothing is not: most are only out of date.
/// </summary>
internal sealed class DashboardGate(
    RequestDelegate next, ApiKeyAuthenticator authenticator, DashboardLogin login, RouteCollection routes, FailedAuthentications failures)
{
    // Hangfire's dispatchers of its embedded files are internal classes: their types are learnt from its routes.
    private readonly HashSet<Type> staticResources =
        [.. new[] { "/js0", "/css0", "/css-dark0", "/fonts/glyphicons-halflings-regular/woff2" }
            .Select(probe => routes.FindDispatcher(probe)?.Item1.GetType())
            .OfType<Type>()];

    public async Task InvokeAsync(HttpContext context, DashboardSessions sessions)
    {
        context.Request.Path.StartsWithSegments(DashboardExtensions.Path, out var route);
        if (await login.TryAnswerAsync(context, route.Value ?? "", sessions))
        {
            return;
        }
        var presented = Presented(context.Request.Headers.Authorization);
        ApiKeyCheck? check = presented?.Key is { } key ? await authenticator.AuthenticateAsync(key, context.RequestAborted) : null;
        var identity = check is { } checkedKey
            ? checkedKey.Identity
            : await login.SessionIdentityAsync(context.Request, sessions, IsStaticResource(route.Value), context.RequestAborted);
        if (identity is { IsAdmin: true })
        {
            await next(context);
            return;
        }
        if (presented is { } credentials)
        {
            failures.ReportAdminRefusal(context, credentials.Scheme, check);
        }
        Challenge(context.Response);
        if (DashboardLogin.WantsHtml(context.Request))
        {
            await login.WriteChallengeAsync(context);
            return;
        }
        await ApiExceptionHandler.WriteAsync(
            context, ApiErrors.Unauthorized("The dashboard needs an admin key: give it as the password (any user name)"), context.RequestAborted);
    }

    /// <summary>Asks for HTTP basic auth: browsers prompt for the key, and show the login form when the prompt is dismissed.</summary>
    public static void Challenge(HttpResponse response) =>
        response.Headers.WWWAuthenticate = "Basic realm=\"AgentCorex dashboard\", charset=\"UTF-8\"";

    private bool IsStaticResource(string? route) =>
        route is not null && routes.FindDispatcher(route)?.Item1.GetType() is { } dispatcher && staticResources.Contains(dispatcher);

    /// <summary>
    /// The scheme and key of an Authorization header, its key null when none can be read from it (the session cookie is
    /// then looked at, as without one); null when there is no header.
    /// </summary>
    private static (CredentialScheme Scheme, string? Key)? Presented(string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }
        if (!AuthenticationHeaderValue.TryParse(header, out var value) || string.IsNullOrEmpty(value.Parameter))
        {
            return (CredentialScheme.Basic, null);
        }
        if (value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return (CredentialScheme.Bearer, value.Parameter);
        }
        return (CredentialScheme.Basic, value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) ? BasicPassword(value.Parameter) : null);
    }

    private static string? BasicPassword(string parameter)
    {
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : decoded[(colon + 1)..];
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
