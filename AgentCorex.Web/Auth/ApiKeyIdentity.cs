using System.Security.Claims;

namespace AgentCorex.Web.Auth;

/// <summary>Who is calling: what a request's principal says about its key.</summary>
public sealed record ApiKeyIdentity(string KeyId, string Name, string Plan, bool IsAdmin)
{
    public const string ConfiguredAdminKeyId = "key_configured_admin";

    private const string PlanClaim = "plan";
    private const string AdminRole = "admin";

    public ClaimsPrincipal ToPrincipal(string scheme)
    {
        List<Claim> claims = [new(ClaimTypes.NameIdentifier, KeyId), new(ClaimTypes.Name, Name), new(PlanClaim, Plan)];
        if (IsAdmin)
        {
            claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        }
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    public static ApiKeyIdentity From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The request is not authenticated."),
        principal.FindFirstValue(ClaimTypes.Name) ?? "",
        principal.FindFirstValue(PlanClaim) ?? "",
        principal.IsInRole(AdminRole));
}
