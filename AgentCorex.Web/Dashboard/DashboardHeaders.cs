namespace AgentCorex.Web.Dashboard;

/// <summary>
/// The headers a browser needs to keep the dashboard's pages, its login form included, to themselves. Without them
/// another site could frame the form or a page under a decoy (clickjacking; Basic auth's credentials go with a framed
/// request whatever SameSite says), and a job's arguments or results that get past the pages' encoding would run as
/// script. Set as the response starts, so that the answers of the gate, of Hangfire and of the error handler (which
/// clears the headers) all carry them.
/// </summary>
internal sealed class DashboardHeaders(RequestDelegate next)
{
    // Hangfire's pages load only their own scripts, styles and fonts from /hangfire (no inline script, no eval);
    // they and the panels write inline style attributes (progress bars), and the login form an inline stylesheet
    // and an empty data: icon.
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public Task InvokeAsync(HttpContext context)
    {
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XFrameOptions = "DENY"; // for browsers that predate frame-ancestors
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer"; // a page's address names jobs; nothing here needs it sent on
            return Task.CompletedTask;
        }, context.Response);
        return next(context);
    }
}
