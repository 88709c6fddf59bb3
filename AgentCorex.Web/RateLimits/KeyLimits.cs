using AgentCorex.Web.Auth;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// What a key may do, null meaning no limit: its own (a number, or none at all), else its plan's (admin keys:
/// RateLimits:Admin, unlimited by default).
/// </summary>
public sealed class KeyLimits(IOptions<RateLimitOptions> options)
{
    public int? RequestsPerMinute(ApiKeyIdentity key) =>
        key.RequestsPerMinuteUnlimited ? null
        : key.RequestsPerMinute ?? (key.IsAdmin ? options.Value.Admin.RequestsPerMinute : Plan(key)?.RequestsPerMinute);

    public int? MaxConcurrent(ApiKeyIdentity key) =>
        key.MaxConcurrentUnlimited ? null
        : key.MaxConcurrent ?? (key.IsAdmin ? options.Value.Admin.MaxConcurrent : Plan(key)?.MaxConcurrent);

    private PlanLimits? Plan(ApiKeyIdentity key) => options.Value.Plans.GetValueOrDefault(key.Plan);
}
