using Hangfire.Dashboard;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// A dashboard page of AgentCorex's own. Hangfire renders pages synchronously, so what a page shows is read
/// from the ledger first, asynchronously and with the request's token, and the page only writes it out.
/// </summary>
internal sealed class LedgerPageDispatcher(Func<DashboardContext, CancellationToken, Task<RazorPage>> read) : IDashboardDispatcher
{
    public async Task Dispatch(DashboardContext context)
    {
        var http = context.GetHttpContext();
        var page = await read(context, http.RequestAborted);
        // Hangfire's own page dispatcher (layout, menus, antiforgery) is internal; a route collection hands it out.
        var routes = new Hangfire.Dashboard.RouteCollection();
        routes.AddRazorPage("/", _ => page);
        await routes.FindDispatcher("/").Item1.Dispatch(context);
    }
}
