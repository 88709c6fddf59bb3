using System.Text.Encodings.Web;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Auth;

/// <summary>
/// <c>Authorization: Bearer &lt;api key&gt;</c>, or <c>?access_token=</c> where an endpoint allows it; refusals are
/// answered in the contract's error shape. What was wrong with refused credentials is left on the request
/// (<see cref="CredentialFailure"/>) and reported when the request is refused for it: a route open to anyone is not
/// refused, and /metrics takes its scrape token, which is no API key (ScrapeGate).
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyAuthenticator authenticator,
    FailedAuthentications failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return QueryToken() is { Length: > 0 } token
                ? await AuthenticateAsync(CredentialScheme.AccessToken, token)
                : AuthenticateResult.NoResult();
        }
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Refuse(new CredentialFailure(CredentialScheme.Bearer, CredentialFault.Malformed), "The Authorization header must be 'Bearer <api key>'");
        }
        return await AuthenticateAsync(CredentialScheme.Bearer, header["Bearer ".Length..].Trim());
    }

    private string? QueryToken() => TakesAccessToken() ? Request.Query[AccessTokenQueryAttribute.Parameter].ToString() : null;

    /// <summary>Whether the endpoint takes its key as <c>?access_token=</c> too (a browser's EventSource sends no header), and says so when refusing.</summary>
    private bool TakesAccessToken() => Context.GetEndpoint()?.Metadata.GetMetadata<AccessTokenQueryAttribute>() is not null;

    private async Task<AuthenticateResult> AuthenticateAsync(CredentialScheme scheme, string apiKey)
    {
        var check = await authenticator.AuthenticateAsync(apiKey, Context.RequestAborted);
        if (check.Identity is not { } identity)
        {
            return Refuse(new CredentialFailure(scheme, check.Fault), "The API key is not valid or has been revoked");
        }
        Context.Features.Set(identity);
        return AuthenticateResult.Success(new AuthenticationTicket(identity.ToPrincipal(SchemeName), SchemeName));
    }

    private AuthenticateResult Refuse(CredentialFailure failure, string message)
    {
        Context.Features.Set(failure);
        return AuthenticateResult.Fail(message);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        if (Context.Features.Get<CredentialFailure>() is { } failure)
        {
            failures.Report(Context, failure);
        }
        var message = result.Failure?.Message ?? (TakesAccessToken()
            ? $"An API key is required: send 'Authorization: Bearer <api key>' or '?{AccessTokenQueryAttribute.Parameter}=<api key>'"
            : "An API key is required: send 'Authorization: Bearer <api key>'");
        Response.Headers.WWWAuthenticate = "Bearer";
        await ApiExceptionHandler.WriteAsync(Context, ApiErrors.Unauthorized(message), Context.RequestAborted);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiExceptionHandler.WriteAsync(Context, ApiErrors.Forbidden(), Context.RequestAborted);
}
