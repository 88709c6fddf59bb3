using Microsoft.AspNetCore.Http.Features;

namespace AgentCorex.Web.Errors;

/// <summary>
/// Caps request bodies. Kestrel enforces the same limit through the feature; the explicit check answers a
/// declared oversized body at once and covers hosts without the feature.
/// </summary>
internal sealed class RequestBodyLimit(RequestDelegate next, long maxBytes)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            throw ApiErrors.ForStatusCode(StatusCodes.Status413PayloadTooLarge);
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
        {
            feature.MaxRequestBodySize = maxBytes;
        }
        return next(context);
    }
}
