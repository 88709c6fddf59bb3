using System.Text.Encodings.Web;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;api key&gt;</c>, or <c>?access_token=</c> where an endpoint allows it; refusals are
/// answered in the contract's error shape.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyAuthenticator authenticator)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return QueryToken() is { Length: > 0 } token
                ? await AuthenticateAsync(token)
                : AuthenticateResult.NoResult();
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.Fail("The Authorization header must be 'Bearer <api key>'");
        }
        return await AuthenticateAsync(header["Bearer ".Length..].Trim());
    }

    private string? QueryToken() =>
        Context.GetEndpoint()?.Metadata.GetMetadata<AccessTokenQueryAttribute>() is not null
            ? Request.Query[AccessTokenQueryAttribute.Parameter].ToString()
            : null;

    private async Task<AuthenticateResult> AuthenticateAsync(string apiKey)
    {
        var identity = await authenticator.AuthenticateAsync(apiKey, Context.RequestAborted);
        if (identity is not null)
        {
            Context.Features.Set(identity);
        }
        return identity is null
            ? AuthenticateResult.Fail("The API key is not valid or has been revoked")
            : AuthenticateResult.Success(new AuthenticationTicket(identity.ToPrincipal(SchemeName), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var message = result.Failure?.Message ?? "An API key is required: send 'Authorization: Bearer <api key>'";
        Response.Headers.WWWAuthenticate = "Bearer";
        await ApiExceptionHandler.WriteAsync(Context, ApiErrors.Unauthorized(message), Context.RequestAborted);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiExceptionHandler.WriteAsync(Context, ApiErrors.Forbidden(), Context.RequestAborted);
}
