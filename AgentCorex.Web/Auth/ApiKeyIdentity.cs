using System.Globalization;
using System.Security.Claims;

namespace AgentCorex.Web.Auth;

/// <summary>
/// Who is calling: what a request's principal says about its key, with the key's own limits if it has any (a number,
/// or none at all: *Unlimited); see <see cref="RateLimits.KeyLimits"/>.
/// </summary>
public sealed record ApiKeyIdentity(
    string KeyId,
    string Name,
    string Plan,
    bool IsAdmin,
    int? RequestsPerMinute = null,
    int? MaxConcurrent = null,
    bool RequestsPerMinuteUnlimited = false,
    bool MaxConcurrentUnlimited = false)
{
    public const string ConfiguredAdminKeyId = "key_configured_admin";

    /// <summary>The key given by Auth:AdminKey, which is configured, not stored.</summary>
    public static readonly ApiKeyIdentity ConfiguredAdmin = new(ConfiguredAdminKeyId, "configured admin key", "enterprise", IsAdmin: true);

    private const string PlanClaim = "plan";
    private const string AdminRole = "admin";
    private const string RequestsPerMinuteClaim = "requests_per_minute";
    private const string MaxConcurrentClaim = "max_concurrent";
    private const string NoLimit = "none";

    public ClaimsPrincipal ToPrincipal(string scheme)
    {
        List<Claim> claims = [new(ClaimTypes.NameIdentifier, KeyId), new(ClaimTypes.Name, Name), new(PlanClaim, Plan)];
        if (IsAdmin)
        {
            claims.Add(new Claim(ClaimTypes.Role, AdminRole));
        }
        AddLimit(claims, RequestsPerMinuteClaim, RequestsPerMinute, RequestsPerMinuteUnlimited);
        AddLimit(claims, MaxConcurrentClaim, MaxConcurrent, MaxConcurrentUnlimited);
        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme));
    }

    private static void AddLimit(List<Claim> claims, string claim, int? own, bool unlimited)
    {
        if (unlimited || own is not null)
        {
            claims.Add(new Claim(claim, unlimited ? NoLimit : own!.Value.ToString(CultureInfo.InvariantCulture)));
        }
    }

    /// <summary>The identity the authentication handler left on the request, without reading its claims again.</summary>
    public static ApiKeyIdentity From(HttpContext context) => context.Features.Get<ApiKeyIdentity>() ?? From(context.User);

    public static ApiKeyIdentity From(ClaimsPrincipal principal) => new(
        principal.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("The request is not authenticated."),
        principal.FindFirstValue(ClaimTypes.Name) ?? "",
        principal.FindFirstValue(PlanClaim) ?? "",
        principal.IsInRole(AdminRole),
        Number(principal, RequestsPerMinuteClaim),
        Number(principal, MaxConcurrentClaim),
        principal.FindFirstValue(RequestsPerMinuteClaim) == NoLimit,
        principal.FindFirstValue(MaxConcurrentClaim) == NoLimit);

    private static int? Number(ClaimsPrincipal principal, string claim) =>
        principal.FindFirstValue(claim) is { } value and not NoLimit ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
