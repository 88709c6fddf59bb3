using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Mvc;

namespace AgentCorex.Web.RateLimits;

public static class RateLimitsExtensions
{
    /// <summary>Per-key request limits by plan, counted in memory on the embedded default and in the shared database on a cluster.</summary>
    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        RefuseUnreadablePlans(builder.Configuration);
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section)
            .Validate(o => o.Plans.Values.Append(o.Admin).All(p => p.RequestsPerMinute is null or > 0 && p.MaxConcurrent is null or > 0),
                "RateLimits: RequestsPerMinute and MaxConcurrent must be positive (leave one out for no limit).")
            .Validate(o => o.ApiRequestsPerMinute > 0, "RateLimits:ApiRequestsPerMinute must be positive.")
            .ValidateOnStart();
        builder.Services.AddSingleton<KeyLimits>();
        if (StorageOptions.From(builder.Configuration).Provider == StorageProvider.Embedded)
        {
            builder.Services.AddSingleton<IRequestCounter, InMemoryRequestCounter>();
        }
        else
        {
            builder.Services.AddSingleton<IRequestCounter, DatabaseRequestCounter>();
        }
        builder.Services.AddSingleton<RateLimitFilter>();
        builder.Services.Configure<MvcOptions>(mvc => mvc.Filters.Add(new ServiceFilterAttribute<RateLimitFilter> { IsReusable = true /* a singleton: not resolved again per request */ }));
        return builder;
    }

    /// <summary>
    /// The binder passes over a plan's entry it cannot read (RateLimits:Plans:free:MaxConcurrent=lots kept the default),
    /// and binds plans no key can have (gold, enterprize) and limits no plan has, each without a word: all are refused here.
    /// </summary>
    private static void RefuseUnreadablePlans(IConfiguration configuration)
    {
        string[] limits = [nameof(PlanLimits.RequestsPerMinute), nameof(PlanLimits.MaxConcurrent)];
        foreach (var plan in configuration.GetSection(RateLimitOptions.Section).GetSection(nameof(RateLimitOptions.Plans)).GetChildren())
        {
            if (!ApiKeyRules.Plans.Contains(plan.Key, StringComparer.Ordinal))
            {
                throw new StartupRefusedException($"{plan.Path} names no plan: the plans are {string.Join(", ", ApiKeyRules.Plans)}.");
            }
            if (plan.GetChildren().FirstOrDefault(limit => !limits.Contains(limit.Key, StringComparer.OrdinalIgnoreCase)) is { } unknown)
            {
                throw new StartupRefusedException($"{unknown.Path} is not a plan's limit: they are {string.Join(" and ", limits)}.");
            }
            plan.Get<PlanLimits>(); // the binder's own refusal of a value not of its type, which StartupErrors tells
        }
    }
}
