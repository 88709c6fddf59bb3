using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace AgentCorex.Web.Monitoring;

public static class MonitoringExtensions
{
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// OpenTelemetry meters, the server's own (<see cref="AgentCorexMetrics"/>) with ASP.NET Core's and the runtime's,
    /// for Prometheus to scrape at /metrics.
    /// </summary>
    public static WebApplicationBuilder AddMonitoring(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<MonitoringOptions>().BindConfiguration(MonitoringOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => AuthOptions.HasNoBlanks(o.ScrapeToken),
                "Monitoring:ScrapeToken must not hold white space or control characters (a secret file's newline at its end, say).")
            .ValidateOnStart();
        builder.Services.AddSingleton<AgentCorexMetrics>();
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("agentcorex"))
            .WithMetrics(metrics => metrics
                .AddMeter(AgentCorexMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
                .AddPrometheusExporter());
        return builder;
    }

    /// <summary>GET /metrics in Prometheus text format, for an admin key or Monitoring:ScrapeToken.</summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.UseMiddleware<ScrapeGate>(), optionsName: null)
            .AllowAnonymous() // ScrapeGate decides: the scrape token is no API key
            .ReadOnly();
        return app;
    }
}
