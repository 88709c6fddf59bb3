using AgentCorex.Web.Execution;
using AgentCorex.Web.RateLimits;
using Microsoft.AspNetCore.Mvc.Filters;

namespace AgentCorex.Web.Shutdown;

/// <summary>
/// A stopping node starts nothing new: the execution endpoints (POST /execute_tool, POST /jobs/submit) answer
/// 503 SERVER_SHUTTING_DOWN, naming the tool the body asks for, as their other errors do. Ordered before the rate
/// limit, so a refused request does not count against the key.
/// </summary>
internal sealed class ShutdownFilter(ShutdownDeadline shutdown) : IAsyncResourceFilter
{
    public const int Order = -1000;

    public Task OnResourceExecutionAsync(ResourceExecutingContext context, ResourceExecutionDelegate next) =>
        shutdown.IsStopping && context.ActionDescriptor.EndpointMetadata.OfType<ExecutionRateLimitAttribute>().Any()
            ? RefuseAsync(context.HttpContext.Request)
            : next(); // the execute path's hot path: no state machine of its own

    private static async Task RefuseAsync(HttpRequest request) =>
        throw await ShutdownErrors.ShuttingDown().ForToolInBodyAsync(request, request.HttpContext.RequestAborted);
}
