using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Monitoring;

/// <summary>
/// /metrics answers an admin key (already authenticated by then) or Monitoring:ScrapeToken as a Bearer token,
/// compared in constant time; everyone else gets 401, reported (<see cref="FailedAuthentications"/>) when it presented
/// credentials: a key refused by the authentication handler, a wrong token, or a key that is not an admin's.
/// </summary>
internal sealed class ScrapeGate(RequestDelegate next, IOptions<MonitoringOptions> options, FailedAuthentications failures)
{
    private readonly byte[]? scrapeTokenHash = string.IsNullOrEmpty(options.Value.ScrapeToken) ? null : Hash(options.Value.ScrapeToken);

    public Task InvokeAsync(HttpContext context)
    {
        if (IsScrapeToken(context.Request.Headers.Authorization) || IsAdmin(context))
        {
            return next(context);
        }
        if ((context.Features.Get<CredentialFailure>() ?? NotAdmin(context)) is { } failure)
        {
            failures.Report(context, failure);
        }
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return ApiExceptionHandler.WriteAsync(
            context, ApiErrors.Unauthorized("/metrics needs an admin key or the scrape token: send 'Authorization: Bearer <token>'"), context.RequestAborted);
    }

    private static bool IsAdmin(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true && ApiKeyIdentity.From(context).IsAdmin;

    private static CredentialFailure? NotAdmin(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true ? new CredentialFailure(CredentialScheme.Bearer, CredentialFault.NotAdmin) : null;

    private bool IsScrapeToken(string? header) =>
        scrapeTokenHash is not null
        && AuthenticationHeaderValue.TryParse(header, out var value)
        && value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
        && value.Parameter is { Length: > 0 and <= 1024 } presented
        // Hashes of equal length, so the comparison's time tells nothing of the token's length or content.
        && CryptographicOperations.FixedTimeEquals(Hash(presented), scrapeTokenHash);

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
