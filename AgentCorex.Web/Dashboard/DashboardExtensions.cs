using AgentCorex.Web.Api;
using Hangfire;

namespace AgentCorex.Web.Dashboard;

public static class DashboardExtensions
{
    public const string Path = "/hangfire";

    /// <summary>
    /// Hangfire's pages load only their own scripts, styles and fonts from /hangfire (no inline script, no eval); they
    /// and the panels write inline style attributes (progress bars), and the login form an inline stylesheet and an empty
    /// data: icon. A job's arguments or results that get past the pages' encoding would not run as script.
    /// </summary>
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; " + PageHeaders.NoFraming;

    /// <summary>The dashboard's login form and its sessions.</summary>
    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DashboardLogin>();
        builder.Services.AddScoped<DashboardSessions>();
        return builder;
    }

    /// <summary>Hangfire's dashboard for operators, at /hangfire, behind an admin key.</summary>
    public static WebApplication MapDashboard(this WebApplication app)
    {
        DashboardAdditions.AddOnce();
        app.UseWhen(context => context.Request.Path.StartsWithSegments(Path), branch => branch
            .UseMiddleware<PageHeaders>(ContentSecurityPolicy)
            .UseMiddleware<DashboardLanguage>()
            .UseMiddleware<DashboardGate>()
            .UseMiddleware<DashboardRequestCheck>());
        app.UseHangfireDashboard(Path, new DashboardOptions
        {
            Authorization = [], // DashboardGate has let only admin keys through
            DashboardTitle = "AgentCorex jobs",
            DisplayStorageConnectionString = false,
            // Jobs are changed through the API, which keeps the ledger in step; the dashboard is for watching.
            // DashboardRequestCheck refuses the commands before Hangfire sees them; this stays on beneath it.
            IsReadOnlyFunc = _ => true,
            AppPath = null,
        });
        return app;
    }
}
