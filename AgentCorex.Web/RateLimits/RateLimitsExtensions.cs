using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Mvc;

namespace AgentCorex.Web.RateLimits;

public static class RateLimitsExtensions
{
    /// <summary>Per-key request limits by plan, counted in memory on the embedded default and in the shared database on a cluster.</summary>
    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
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
}
