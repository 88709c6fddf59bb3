using AgentCorex.Web.Health;
using AgentCorex.Web.Jobs;
using Microsoft.AspNetCore.Mvc;

namespace AgentCorex.Web.Shutdown;

public static class ShutdownExtensions
{
    /// <summary>
    /// Graceful shutdown on SIGTERM: not ready and no new executions (503) while running tools may finish until
    /// Jobs:ShutdownTimeout, the API answering meanwhile; the host waits for them (see <see cref="ShutdownTimeouts"/>;
    /// the Hangfire servers apply it where they are added).
    /// </summary>
    public static WebApplicationBuilder AddGracefulShutdown(this WebApplicationBuilder builder)
    {
        var drain = (builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions()).ShutdownTimeout;
        builder.Services.Configure<HostOptions>(host =>
        {
            var needed = ShutdownTimeouts.Host(drain);
            if (host.ShutdownTimeout < needed)
            {
                host.ShutdownTimeout = needed;
            }
        });
        builder.Services.AddSingleton<ShutdownDeadline>();
        builder.Services.AddHostedService<ShutdownDrain>();
        builder.Services.AddHealthChecks().AddCheck<StoppingHealthCheck>("shutdown", tags: [HealthExtensions.Ready]);
        builder.Services.AddSingleton<ShutdownFilter>();
        builder.Services.Configure<MvcOptions>(mvc => mvc.Filters.Add(new ServiceFilterAttribute<ShutdownFilter> { Order = ShutdownFilter.Order, IsReusable = true /* a singleton: not resolved again per request */ }));
        return builder;
    }
}
