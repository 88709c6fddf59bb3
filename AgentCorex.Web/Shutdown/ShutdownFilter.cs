using AgentCorex.Web.Execution;
using Microsoft.AspNetCore.Mvc.Filters;

namespace AgentCorex.Web.Shutdown;

/// <summary>
/// A stopping node starts nothing new: the execution endpoints (POST /execute_tool, POST /jobs/submit) answer
/// 503 SERVER_SHUTTING_DOWN, naming the tool the body asks for, as their other errors do. Ordered before the rate
/// limit, so a refused request does not count against the key. One it admits is counted in
/// <see cref="RunningExecutions"/> until it is answered, for the drain to wait for.
/// </summary>
internal sealed class ShutdownFilter(ShutdownDeadline shutdown, RunningExecutions executions) : IAsyncResourceFilter
{
    public const int Order = -1000;

    public Task OnResourceExecutionAsync(ResourceExecutingContext context, ResourceExecutionDelegate next)
    {
        if (!context.HttpContext.GetEndpoint().IsExecution())
        {
            return next();
        }
        // Counted before the check: the drain, which looks once the node is stopping, sees every execution admitted before.
        var underWay = executions.Enter();
        if (shutdown.IsStopping)
        {
            underWay.Dispose();
            return RefuseAsync(context.HttpContext.Request);
        }
        return RunAsync(next, underWay);
    }

    private static async Task RunAsync(ResourceExecutionDelegate next, RunningExecutions.Scope underWay)
    {
        using (underWay)
        {
            await next();
        }
    }

    private static async Task RefuseAsync(HttpRequest request) =>
        throw await ShutdownErrors.ShuttingDown().ForToolInBodyAsync(request, request.HttpContext.RequestAborted);
}
