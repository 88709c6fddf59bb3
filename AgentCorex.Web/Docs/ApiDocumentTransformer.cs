using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace AgentCorex.Web.Docs;

/// <summary>
/// The document's title, its server (relative: the one it was read from, under Server:PathBase), the Bearer API-key scheme every controller
/// route requires, and the ?access_token= scheme the routes marked <see cref="AccessTokenQueryAttribute"/> also take.
/// </summary>
internal sealed class ApiDocumentTransformer(IOptions<ServerOptions> server) : IOpenApiDocumentTransformer
{
    public const string BearerScheme = "bearer";
    public const string AccessTokenScheme = AccessTokenQueryAttribute.Parameter;

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "AgentCorex",
            Version = "v1",
            Description = "Run tools synchronously (POST /execute_tool) or as background jobs (POST /jobs/submit). " +
                "Every error has the shape {\"error\":{\"code\",\"message\",...}}. " +
                "Every GET route also answers HEAD, with the same status and headers and no body; HEAD is not listed apart. " +
                "A method a route does not take is 405 METHOD_NOT_ALLOWED, with Allow listing those it does (GET /jobs/submit included). " +
                $"On any route, a request line over {RequestHeadLimits.MaxRequestLineBytes} bytes is 414 URI_TOO_LONG, and headers over " +
                $"{RequestHeadLimits.MaxHeaderBytes} bytes or {RequestHeadLimits.MaxHeaderCount} fields are 431 HEADERS_TOO_LARGE.",
        };
        // The generator's default is the address the request came to, Host header and all: a Host of evil.example named
        // that server, and behind a TLS proxy the address was http://. Relative, it is wherever the document was read; under
        // the configured path base, not the bare "/" (the host's root, outside a proxy's prefix), nor the request's own path
        // base, whose casing is the client's.
        document.Servers = [new OpenApiServer { Url = server.Value.PathBase + "/" }];
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "acx_<key id>_<secret>",
            Description = "An AgentCorex API key: Authorization: Bearer acx_…",
        };
        document.Components.SecuritySchemes[AccessTokenScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Query,
            Name = AccessTokenQueryAttribute.Parameter,
            Description = "The API key in the query, for browsers' EventSource, which cannot set headers; only GET /jobs/{job_id}/stream takes it",
        };
        return Task.CompletedTask;
    }
}
