using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using RouteCollection = Hangfire.Dashboard.RouteCollection;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Only admin keys open the dashboard: as the password of HTTP basic auth (any user name; browsers prompt
/// for it), as a Bearer token (scripts), or through the login form's session (<see cref="DashboardLogin"/>).
/// Everyone else gets 401: a browser the login form, a script the contract's error.
/// </summary>
internal sealed class DashboardGate(RequestDelegate next, ApiKeyAuthenticator authenticator, DashboardLogin login, RouteCollection routes)
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
        var presented = PresentedKey(context.Request.Headers.Authorization);
        var identity = presented is null
            ? await login.SessionIdentityAsync(context.Request, sessions, IsStaticResource(route.Value), context.RequestAborted)
            : await authenticator.AuthenticateAsync(presented, context.RequestAborted);
        if (identity is { IsAdmin: true })
        {
            await next(context);
            return;
        }
        Challenge(context.Response);
        if (DashboardLogin.WantsHtml(context.Request))
        {
            await DashboardLogin.WriteChallengeAsync(context);
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

    private static string? PresentedKey(string? header)
    {
        if (!AuthenticationHeaderValue.TryParse(header, out var value) || string.IsNullOrEmpty(value.Parameter))
        {
            return null;
        }
        if (value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return value.Parameter;
        }
        if (!value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value.Parameter));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : decoded[(colon + 1)..];
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
