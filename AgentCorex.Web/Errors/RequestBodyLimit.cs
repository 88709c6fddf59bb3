using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Filters;

namespace AgentCorex.Web.Errors;

/// <summary>
/// Caps request bodies on every route, on hosts whose limit Kestrel's setting does not reach. It answers nothing
/// itself: a body is refused when it is read, or, declared too large, by <see cref="DeclaredBodyLimitFilter"/>, so
/// that a caller without a valid key learns nothing but 401.
/// </summary>
internal sealed class RequestBodyLimit(RequestDelegate next, long maxBytes)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
        }
        return next(context);
    }
}

/// <summary>
/// 413 at once for a body declared (Content-Length) over the limit, unread, without waiting for it to be read;
/// a chunked one gets the same 413 from the server when the action reads past the limit. It runs in MVC, after
/// authentication and authorization (401 and 403 come first) and after the rate limit, so that an execution
/// endpoint's 413 is counted and carries the X-RateLimit-* headers, as the chunked one's does.
/// </summary>
internal sealed class DeclaredBodyLimitFilter(long maxBytes) : IResourceFilter, IOrderedFilter
{
    /// <summary>After the rate limit's filter (order 0).</summary>
    public int Order => 1;

    public void OnResourceExecuting(ResourceExecutingContext context)
    {
        if (context.HttpContext.Request.ContentLength > maxBytes)
        {
            throw ApiErrors.ForStatusCode(StatusCodes.Status413PayloadTooLarge);
        }
    }

    public void OnResourceExecuted(ResourceExecutedContext context)
    {
    }
}
