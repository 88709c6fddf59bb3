using System.Globalization;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.WebUtilities;
using Hangfire.Dashboard;
using RouteCollection = Hangfire.Dashboard.RouteCollection;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// Checks a request against what its Hangfire dashboard route takes before Hangfire sees it, so that a client's
/// mistake is a 4xx in the contract's shape, not a bare status from Hangfire or a 500:
/// <list type="bullet">
/// <item>The JSON stats and the commands take POST only; Hangfire's own pages post to them. Every other route (its
/// pages, its scripts, styles and fonts, ours) takes GET and HEAD only: Hangfire answers those whatever the method, so
/// a PUT or a TRACE got the page. (The login form, which takes POST too, is answered before: DashboardLogin.)</item>
/// <item>Commands are refused: the dashboard is read-only by design (jobs change through the API). The admin who
/// asked gets 403; Hangfire's own answer, 401, would make a browser ask for the login again.</item>
/// <item>The stats and the batch commands read a form, which Hangfire reads without checking that there is one
/// (an InvalidOperationException). It is read here first, so a missing or malformed form is a 400.</item>
/// </list>
/// </summary>
internal sealed class DashboardRequestCheck(RequestDelegate next, RouteCollection routes)
{
    // Hangfire's dispatchers are internal classes: their types are learnt from its public API, not from their names.
    private static readonly Type Command = DispatcherType(probe => probe.AddCommand("/", _ => false));
    private static readonly Type BatchCommand = DispatcherType(probe => probe.AddBatchCommand("/", (_, _) => { }));

    private readonly Type? stats = routes.FindDispatcher("/stats")?.Item1.GetType();

    public async Task InvokeAsync(HttpContext context)
    {
        context.Request.Path.StartsWithSegments(DashboardExtensions.Path, out var route);
        var dispatcher = routes.FindDispatcher(route.Value ?? "")?.Item1.GetType();
        if (dispatcher is not null && await RefusalAsync(context, dispatcher) is { } refusal)
        {
            await ApiExceptionHandler.WriteAsync(context, refusal, context.RequestAborted);
            return;
        }
        LimitPageSize(context.Request);
        await next(context); // Hangfire passes a route it does not have on: the app's 404 NOT_FOUND
    }

    /// <summary>
    /// A list page's <c>?count=</c> at most <see cref="MaxPageSize"/>, the largest of Hangfire's per-page choices
    /// (its _PerPageSelector): its pager takes any number, and <c>?count=2147483647</c> made a page of Succeeded, Failed
    /// or a queue read and render every job Hangfire holds in that state, and one of the ledger's lists (EndedJobs) every
    /// row of the list, in one request.
    /// </summary>
    private static void LimitPageSize(HttpRequest request)
    {
        if (request.Query.TryGetValue(PageSize, out var count) && int.TryParse(count, out var asked) && asked > MaxPageSize)
        {
            var query = QueryHelpers.ParseQuery(request.QueryString.Value);
            query[PageSize] = MaxPageSize.ToString(CultureInfo.InvariantCulture);
            request.QueryString = QueryString.Create(query);
        }
    }

    private const string PageSize = "count";

    private const int MaxPageSize = 5000;

    /// <summary>Null when the request is one the route takes, else the error to answer.</summary>
    private async Task<ApiException?> RefusalAsync(HttpContext context, Type dispatcher)
    {
        var method = context.Request.Method;
        var command = dispatcher == Command || dispatcher == BatchCommand;
        var readsForm = dispatcher == BatchCommand || dispatcher == stats;
        if (!command && !readsForm)
        {
            return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? null : MethodNotAllowed(context.Response, ReadMethods);
        }
        if (!HttpMethods.IsPost(method))
        {
            return MethodNotAllowed(context.Response, HttpMethods.Post);
        }
        return command ? DashboardErrors.ReadOnly() : await ReadFormAsync(context.Request);
    }

    private const string ReadMethods = "GET, HEAD";

    private static ApiException MethodNotAllowed(HttpResponse response, string allow)
    {
        response.Headers.Allow = allow;
        return ApiErrors.ForStatusCode(StatusCodes.Status405MethodNotAllowed);
    }

    /// <summary>Reads the form (Hangfire then finds it read); null when there is one, else the error to answer.</summary>
    private static async Task<ApiException?> ReadFormAsync(HttpRequest request) =>
        await TryReadFormAsync(request) is null ? DashboardErrors.FormRequired() : null;

    /// <summary>The request's form, or null when it has none that can be read (no form content type, a malformed or oversized body).</summary>
    public static async Task<IFormCollection?> TryReadFormAsync(HttpRequest request)
    {
        if (!request.HasFormContentType)
        {
            return null;
        }
        try
        {
            return await request.ReadFormAsync(request.HttpContext.RequestAborted);
        }
        catch (Exception e) when (e is InvalidDataException or IOException and not BadHttpRequestException)
        {
            return null;
        }
    }

    private static Type DispatcherType(Action<RouteCollection> add)
    {
        var probe = new RouteCollection();
        add(probe);
        return probe.FindDispatcher("/")!.Item1.GetType();
    }
}

internal static class DashboardErrors
{
    public static ApiException ReadOnly() =>
        new(StatusCodes.Status403Forbidden, new ApiError(ErrorCodes.Forbidden, "The dashboard is read-only: jobs are changed through the API"));

    public static ApiException FormRequired() =>
        ApiErrors.InvalidRequest("This dashboard endpoint needs a readable form body (application/x-www-form-urlencoded or multipart/form-data), as the dashboard's own pages send");
}
