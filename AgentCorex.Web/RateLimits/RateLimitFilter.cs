using System.Collections.Concurrent;
using System.Globalization;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Monitoring;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// Fixed one-minute windows per key. The execution endpoints count against the key's plan (or its own limit)
/// and every answer they give once counted carries X-RateLimit-Limit, -Remaining and -Reset (not a refusal before
/// the count: authentication's, ShutdownFilter's, a database failing at the count); other endpoints share a
/// looser per-key limit, counted by each node in memory: a guard against floods, not an allowance, so it
/// costs a cluster no database write per read. Over the limit: 429 RATE_LIMIT_EXCEEDED with Retry-After.
/// </summary>
internal sealed class RateLimitFilter(
    IRequestCounter counter, KeyLimits limits, AgentCorexMetrics metrics, IOptions<RateLimitOptions> options, TimeProvider time) : IAsyncResourceFilter
{
    public const string ExecutionBucket = "execution";
    public const string ApiBucket = "api";

    private readonly ConcurrentDictionary<ActionDescriptor, bool> executionActions = new();
    private readonly InMemoryRequestCounter nodeCounter = new();

    public async Task OnResourceExecutionAsync(ResourceExecutingContext context, ResourceExecutionDelegate next)
    {
        if (!options.Value.Enabled || context.HttpContext.User.Identity?.IsAuthenticated != true)
        {
            await next();
            return;
        }
        var key = ApiKeyIdentity.From(context.HttpContext);
        var execution = executionActions.GetOrAdd(context.ActionDescriptor, static action => action.EndpointMetadata.OfType<ExecutionRateLimitAttribute>().Any());
        var limit = execution ? limits.RequestsPerMinute(key) : key.IsAdmin ? null : options.Value.ApiRequestsPerMinute;
        if (limit is not { } perMinute)
        {
            await next();
            return;
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var minute = now / 60;
        var reset = (minute + 1) * 60;
        // The shared count lives in the database: a failure to reach it is answered by ApiExceptionHandler, whose
        // 503 on an execution endpoint names the tool the body asks for.
        var count = execution
            ? await counter.CountAsync(key.KeyId, ExecutionBucket, minute, context.HttpContext.RequestAborted)
            : await nodeCounter.CountAsync(key.KeyId, ApiBucket, minute, context.HttpContext.RequestAborted);
        var exceeded = count > perMinute;
        var retryAfter = Math.Max(1, reset - now);
        if (execution)
        {
            // Set as the response starts, so that error answers (written after the response is cleared) carry them too.
            var response = context.HttpContext.Response;
            response.OnStarting(() =>
            {
                response.Headers["X-RateLimit-Limit"] = perMinute.ToString(CultureInfo.InvariantCulture);
                response.Headers["X-RateLimit-Remaining"] = Math.Max(0, perMinute - count).ToString(CultureInfo.InvariantCulture);
                response.Headers["X-RateLimit-Reset"] = reset.ToString(CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            });
        }
        if (exceeded)
        {
            metrics.RateLimitRefused(execution ? ExecutionBucket : ApiBucket, key.IsAdmin ? "admin" : key.Plan);
            var refusal = RateLimitErrors.Exceeded(perMinute, retryAfter);
            throw execution ? await refusal.ForToolInBodyAsync(context.HttpContext.Request, context.HttpContext.RequestAborted) : refusal;
        }
        await next();
    }
}
