using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Only admin keys open the dashboard: as the password of HTTP basic auth (any user name; browsers prompt
/// for it) or as a Bearer token (scripts). Everyone else gets 401.
/// </summary>
internal sealed class DashboardGate(RequestDelegate next, ApiKeyAuthenticator authenticator)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var presented = PresentedKey(context.Request.Headers.Authorization);
        var identity = presented is null ? null : await authenticator.AuthenticateAsync(presented, context.RequestAborted);
        if (identity is { IsAdmin: true })
        {
            await next(context);
            return;
        }
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"AgentCorex dashboard\", charset=\"UTF-8\"";
        await ApiExceptionHandler.WriteAsync(
            context, ApiErrors.Unauthorized("The dashboard needs an admin key: give it as the password (any user name)"), context.RequestAborted);
    }

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
