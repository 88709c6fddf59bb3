using System.Globalization;
using System.Text.Json;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Formatters;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Api;

public static class ApiExtensions
{
    public const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Where the server listens when nothing else is configured.</summary>
    public const string DefaultUrl = "http://localhost:5080";

    /// <summary>
    /// Kestrel:Limits:MaxConcurrentConnections, Kestrel's own bound on open connections (unset: none), which ASP.NET Core
    /// does not read from the configuration by itself: a node open to many clients bounds what they can hold open.
    /// </summary>
    private static long? MaxConcurrentConnections(IConfiguration configuration)
    {
        const string Key = "Kestrel:Limits:MaxConcurrentConnections";
        return configuration.GetValue<long?>(Key) switch
        {
            null => null,
            > 0 and var limit => limit,
            var limit => throw new StartupRefusedException($"{Key} is {limit}: it must be a positive whole number of connections, or unset for no limit."),
        };
    }

    /// <summary>Controllers speaking the contract's JSON, with its error shape for everything that goes wrong.</summary>
    public static WebApplicationBuilder AddApi(this WebApplicationBuilder builder)
    {
        SpeakInvariantCulture();
        ListenAddresses.Check(builder.Configuration);
        ListenByDefault(builder);
        // Said with the settings' checks, before the host starts (StartupErrors): a start that a setting's check refuses
        // still names the misspelt setting that may be why. Nothing reads these options, and they pass: a Warning, not a refusal.
        builder.Services.AddOptions<UnknownSettings>()
            .Validate<IConfiguration, ILogger<UnknownSettings>>((_, configuration, logger) =>
            {
                UnknownSettings.Warn(configuration, logger);
                return true;
            })
            .ValidateOnStart();
        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            kestrel.Limits.MaxConcurrentConnections = MaxConcurrentConnections(context.Configuration);
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            RequestHeadLimits.RaiseKestrelLimits(kestrel.Limits);
            kestrel.AddServerHeader = false; // "Server: Kestrel" tells a scanner which exploits to try, and a client nothing
            // Read as Latin-1, any byte a character: a key with a byte that is no UTF-8 reaches IdempotencyKeys.Read, which
            // refuses it in the contract's JSON, where Kestrel's UTF-8 decoding answered an empty 400 before the app.
            kestrel.RequestHeaderEncodingSelector = name =>
                string.Equals(name, Jobs.IdempotencyKeys.Header, StringComparison.OrdinalIgnoreCase) ? System.Text.Encoding.Latin1 : null;
        });
        builder.Services.AddOptions<ServerOptions>().BindConfiguration(ServerOptions.Section)
            .Validate(o => ServerOptions.IsValidPathBase(o.PathBase),
                "Server:PathBase must be a path that starts with '/' and does not end with one (/agentcorex, say), without a query, '#', '\\', '//', '%' or white space; unset for the site's root.")
            .ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services
            .AddControllers(mvc =>
            {
                mvc.InputFormatters.RemoveType<SystemTextJsonInputFormatter>();
                mvc.InputFormatters.Insert(0, new JsonBodyInputFormatter());
                mvc.ModelBinderProviders.Insert(0, new QueryValueBinderProvider());
                mvc.ModelBinderProviders.Insert(0, new PathValueBinderProvider());
                mvc.Filters.Add(new DeclaredBodyLimitFilter(MaxRequestBodyBytes));
                mvc.Conventions.Add(new HeadBesideGetConvention());
                // Arguments are checked by the tools' validators; MVC's validation need not walk every JSON element.
                mvc.ModelMetadataDetailsProviders.Add(new SuppressChildValidationMetadataProvider(typeof(JsonElement)));
            })
            .AddJsonOptions(json => ApiJson.Configure(json.JsonSerializerOptions));
        // The same JSON for the OpenAPI document's schemas (and any minimal endpoint) as for the controllers.
        builder.Services.ConfigureHttpJsonOptions(json => ApiJson.Configure(json.SerializerOptions));
        builder.Services.Replace(ServiceDescriptor.Singleton<IActionResultExecutor<ObjectResult>, JsonObjectResultExecutor>());
        builder.Services.AddValidatorsFromAssemblyContaining<Program>(ServiceLifetime.Singleton);
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.AddProblemDetails();
        builder.Services.Configure<ApiBehaviorOptions>(options =>
        {
            options.InvalidModelStateResponseFactory = context => throw ModelStateErrors.ToApiException(context);
            options.SuppressMapClientErrors = true; // bare status codes get the contract's shape from UseStatusCodePages
        });
        return builder;
    }

    /// <summary>
    /// Answers, validation messages, logs and the dashboard read the same on every machine, whatever its locale
    /// (a German server would otherwise answer FluentValidation's messages in German). The runtime keeps ICU, which
    /// SQL Server's client needs, so this is set here rather than by the build's invariant globalization mode.
    /// </summary>
    private static void SpeakInvariantCulture()
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
    }

    /// <summary>
    /// <see cref="DefaultUrl"/>, unless an address is given the usual ways: <c>Urls</c> or <c>--urls</c>,
    /// <c>ASPNETCORE_URLS</c> (or <c>ASPNETCORE_HTTP_PORTS</c>), or <c>Kestrel:Endpoints</c>. Set in a settings file, the
    /// default would override the environment's ASPNETCORE_URLS, which the configuration reads first.
    /// </summary>
    private static void ListenByDefault(WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var given = new[] { "urls", "http_ports", "https_ports" }.Any(key => !string.IsNullOrEmpty(configuration[key]))
            || configuration.GetSection("Kestrel:Endpoints").Exists();
        if (!given)
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }
    }

    /// <summary>
    /// Server:PathBase, then the error shape for exceptions and for bare status codes (unknown routes, wrong methods or
    /// media types).
    /// </summary>
    public static WebApplication UseApi(this WebApplication app)
    {
        // First, so that everything after it (routing, the dashboard's branch, error pages) sees the path without the
        // prefix and writes its URLs with it. Requests outside the prefix are served as before, at the root.
        if (app.Services.GetRequiredService<IOptions<ServerOptions>>().Value.PathBase is { Length: > 0 } pathBase)
        {
            app.UsePathBase(pathBase);
            // UsePathBase matches the prefix case-insensitively and keeps the request's casing: every URL written from
            // PathBase (Location headers, the dashboard's links) takes the setting's own instead, as a cookie's path must.
            app.Use((context, next) =>
            {
                if (context.Request.PathBase.HasValue)
                {
                    context.Request.PathBase = pathBase;
                }
                return next(context);
            });
        }
        // Routing after the path base: WebApplication would otherwise route first, on the path with its prefix.
        app.UseRouting();
        app.UseExceptionHandler(new ExceptionHandlerOptions { SuppressDiagnosticsCallback = _ => true /* ApiExceptionHandler logs what was unexpected */ });
        app.UseStatusCodePages(context =>
        {
            var error = ApiErrors.ForStatusCode(context.HttpContext.Response.StatusCode);
            return ApiExceptionHandler.WriteAsync(
                context.HttpContext, context.HttpContext.GetEndpoint().IsExecution() ? error.ForNoTool() : error, context.HttpContext.RequestAborted);
        });
        app.UseMiddleware<RequestHeadLimits>();
        app.UseMiddleware<RequestBodyLimit>(MaxRequestBodyBytes);
        return app;
    }

    /// <summary>Every controller needs an API key; unknown routes stay plain 404s, key or not.</summary>
    public static WebApplication MapApi(this WebApplication app)
    {
        app.MapControllers().RequireAuthorization();
        return app;
    }
}
