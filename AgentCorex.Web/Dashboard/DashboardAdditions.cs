using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// AgentCorex's additions to Hangfire's dashboard: the Tools page, the lists of the custom states in the Jobs
/// sidebar, their colours and history, and the job page's panel. Hangfire keeps all of these process-wide.
/// </summary>
internal static class DashboardAdditions
{
    private static readonly Lock Gate = new();
    private static bool added;

    public static void AddOnce()
    {
        lock (Gate)
        {
            if (added)
            {
                return;
            }
            GlobalConfiguration.Configuration.UseJobDetailsRenderer(10, JobDetailsPanel.Render);
            DashboardRoutes.AddStylesheet(typeof(DashboardAdditions).Assembly, StylesheetResource);

            DashboardRoutes.Routes.Add(ToolsPage.Path, new LedgerPageDispatcher(async (context, cancellationToken) =>
                new ToolsPage(await Create<ToolsOverview>(context).ReadAsync(cancellationToken))));
            NavigationMenu.Items.Add(page => new MenuItem(ToolsPage.Title, page.Url.To(ToolsPage.Path))
            {
                Active = page.RequestPath.StartsWith(ToolsPage.Path, StringComparison.OrdinalIgnoreCase),
            });
            // Only a session of the login form can log out: the browser keeps basic auth's key until it is closed.
            NavigationMenu.Items.Add(page => page.Context.GetHttpContext().Request.Cookies.ContainsKey(DashboardLogin.CookieName)
                ? new MenuItem("Log out", page.Url.To(DashboardLogin.LogoutPath))
                : null);

            foreach (var state in CustomStateView.All)
            {
                // Hangfire 1.8 colours a state by its CSS suffix (dashboard.css); the colour dictionaries are read only without one, which never happens.
                JobHistoryRenderer.AddStateCssSuffix(state.StateName, state.CssSuffix);
            }
            foreach (var list in LedgerJobList.All)
            {
                DashboardRoutes.Routes.Add(list.Path, new LedgerPageDispatcher(async (context, cancellationToken) =>
                {
                    int.TryParse(context.Request.GetQuery("from"), out var from);
                    int.TryParse(context.Request.GetQuery("count"), out var count);
                    var model = await Create<EndedJobs>(context).ReadAsync(list, from, count, context.Options.DefaultRecordsPerPage, context.Storage, cancellationToken);
                    return new EndedJobsPage(model);
                }));
                var metric = LedgerStateCounts.Metric(list);
                DashboardMetrics.AddMetric(metric);
                JobsSidebarMenu.Items.Add(page => new MenuItem(list.Title, page.Url.To(list.Path))
                {
                    Active = page.RequestPath.StartsWith(list.Path, StringComparison.OrdinalIgnoreCase),
                    Metric = metric,
                });
            }
            JobHistoryRenderer.Register(TimeoutState.StateName, CustomStateHistory.Timeout);
            JobHistoryRenderer.Register(CanceledState.StateName, CustomStateHistory.Canceled);
            added = true;
        }
    }

    private const string StylesheetResource = "AgentCorex.Web.Dashboard.dashboard.css";

    private static T Create<T>(DashboardContext context) =>
        ActivatorUtilities.CreateInstance<T>(context.GetHttpContext().RequestServices);
}
