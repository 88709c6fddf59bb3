using Microsoft.AspNetCore.Authentication;

namespace AgentCorex.Web.Auth;

public static class AuthExtensions
{
    /// <summary>API keys: every controller needs one (see MapApi); admin endpoints need an admin key.</summary>
    public static WebApplicationBuilder AddApiKeys(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section)
            .Validate(o => o.KeyCacheTtl >= TimeSpan.Zero && o.KeyCacheTtl <= TimeSpan.FromMinutes(10), "Auth:KeyCacheTtl must be between 00:00:00 and 00:10:00.")
            // It opens everything, so it is held to the scrape token's bound at least; the message never shows it.
            .Validate(o => string.IsNullOrEmpty(o.AdminKey) || o.AdminKey.Length is >= AuthOptions.MinAdminKeyLength and <= AuthOptions.MaxAdminKeyLength,
                $"Auth:AdminKey must be {AuthOptions.MinAdminKeyLength} to {AuthOptions.MaxAdminKeyLength} characters (or unset, for the first start to create one).")
            // With a secret file's newline every request was a 401; thirty spaces opened the dashboard with a password of spaces.
            .Validate(o => AuthOptions.HasNoBlanks(o.AdminKey),
                "Auth:AdminKey must not hold white space or control characters (a secret file's newline at its end, say).")
            .ValidateOnStart();
        builder.Services.AddSingleton<ApiKeyAuthenticator>();
        builder.Services.AddSingleton<FailedAuthentications>();
        builder.Services.AddHostedService<AdminKeyBootstrap>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiKeyPolicies.Admin, policy => policy.RequireAuthenticatedUser().RequireRole("admin"));
        return builder;
    }
}
