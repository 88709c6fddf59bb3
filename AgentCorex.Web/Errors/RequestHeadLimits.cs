using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AgentCorex.Web.Errors;

/// <summary>
/// The request line's and the headers' limits, answered in the contract's shape. Kestrel answers its own limits while
/// it parses the request, before the app sees it, with an empty body, and nothing lets the app shape that answer. So
/// the limits are enforced here, counted as Kestrel counts them (the values are its defaults), and Kestrel's own are
/// set half as high again, a backstop that bounds the memory a request head may take.
/// </summary>
internal sealed class RequestHeadLimits(RequestDelegate next)
{
    /// <summary>The request line, <c>GET /jobs?tool=… HTTP/1.1</c> and its line end, in bytes.</summary>
    public const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>The header fields, each counted as its <c>Name: value</c> line with its line end, in bytes.</summary>
    public const int MaxHeaderBytes = 32 * 1024;

    /// <summary>Header fields, a name given twice counting twice.</summary>
    public const int MaxHeaderCount = 100;

    public static void RaiseKestrelLimits(KestrelServerLimits limits)
    {
        limits.MaxRequestLineSize = MaxRequestLineBytes * 3 / 2;
        limits.MaxRequestHeadersTotalSize = MaxHeaderBytes * 3 / 2;
        limits.MaxRequestHeaderCount = MaxHeaderCount * 3 / 2;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (RequestLineBytes(context) > MaxRequestLineBytes)
        {
            throw ApiErrors.UriTooLong();
        }
        var (count, bytes) = HeaderSize(context.Request.Headers);
        if (count > MaxHeaderCount || bytes > MaxHeaderBytes)
        {
            throw ApiErrors.HeadersTooLarge();
        }
        return next(context);
    }

    private static int RequestLineBytes(HttpContext context)
    {
        var request = context.Request;
        var target = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        return request.Method.Length + 1 + Encoding.UTF8.GetByteCount(target) + 1 + request.Protocol.Length + 2;
    }

    private static (int Count, long Bytes) HeaderSize(IHeaderDictionary headers)
    {
        var count = 0;
        long bytes = 0;
        foreach (var (name, values) in headers)
        {
            foreach (var value in values)
            {
                count++;
                bytes += name.Length + 2 + Encoding.UTF8.GetByteCount(value ?? "") + 2;
            }
        }
        return (count, bytes);
    }
}
