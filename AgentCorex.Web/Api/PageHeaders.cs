namespace AgentCorex.Web.Api;

/// <summary>
/// The headers a browser needs to keep the server's pages (the dashboard, its login form included, and /docs) to
/// themselves. Without them another site could frame a page under a decoy (clickjacking; Basic auth's credentials go
/// with a framed request whatever SameSite says), and a file could be sniffed into another type. Set as the response
/// starts, so that every answer under the pages' path, those of a gate and of the error handler (which clears the
/// headers) included, carries them.
/// </summary>
/// <param name="contentSecurityPolicy">The pages' policy, which ends with <see cref="NoFraming"/>.</param>
internal sealed class PageHeaders(RequestDelegate next, string contentSecurityPolicy)
{
    /// <summary>The part of every page's policy that no other site, nor this one, may frame it.</summary>
    public const string NoFraming = "frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(SetAsync, context.Response);
        return next(context);
    }

    private Task SetAsync(object state)
    {
        var headers = ((HttpResponse)state).Headers;
        headers.ContentSecurityPolicy = contentSecurityPolicy;
        headers.XFrameOptions = "DENY"; // for browsers that predate frame-ancestors
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer"; // a dashboard page's address names jobs; nothing here needs it sent on
        return Task.CompletedTask;
    }
}
