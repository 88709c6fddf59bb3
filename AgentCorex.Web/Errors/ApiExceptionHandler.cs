using System.Globalization;
using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Execution;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace AgentCorex.Web.Errors;

/// <summary>The one place that turns an exception into the contract's error shape; nothing else writes errors.</summary>
internal sealed partial class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger, TimeProvider time) : IExceptionHandler
{
    /// <summary>An outage's answers as failed authentications are (one "address": the database): 1,000 requests in a 2 s outage logged 1,000 lines.</summary>
    private readonly FailureLogThrottle unavailable = new(time, maxAddresses: 1);

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && context.RequestAborted.IsCancellationRequested)
        {
            return true; // the client went away: nobody to answer
        }

        var error = exception switch
        {
            ApiException api => api,
            // Too large, or sent too slowly (Kestrel's minimum body data rate): said so, not "could not be read".
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge or StatusCodes.Status408RequestTimeout } bad => ApiErrors.ForStatusCode(bad.StatusCode),
            BadHttpRequestException => ApiErrors.InvalidRequest("The request could not be read"),
            _ when DatabaseFailures.IsUnavailable(exception) => ApiErrors.DatabaseUnavailable(exception),
            _ => null,
        };
        if (error is { Error.Code: ErrorCodes.DatabaseUnavailable, InnerException: { } cause })
        {
            // An outage fails every request: the first said at once in a line (no stack trace), then a line a minute at most.
            if (unavailable.Admit("database") is { } notLogged)
            {
                LogDatabaseUnavailable(logger, context.Request.Method, context.Request.Path, cause.GetBaseException().Message, notLogged);
            }
        }
        if (error is null)
        {
            LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            error = ApiErrors.Internal();
        }
        else if (error is { Error.Code: ErrorCodes.InternalError, InnerException: { } fault })
        {
            // A fault an execution endpoint answered for its tool: logged whole, as any other.
            LogUnhandled(logger, fault, context.Request.Method, context.Request.Path);
        }

        // The endpoint as it was when the exception was thrown: the middleware has cleared the request's.
        if (error is { ExecutionStatus: null } && context.Features.Get<IExceptionHandlerFeature>()?.Endpoint.IsExecution() == true)
        {
            // Refused before the action read the body (the look-up of a key the node has not cached, the rate limit's
            // shared count), a body too large to read, or a fault outside the action (a filter's): an execution
            // endpoint's errors say "status":"error", and name the tool asked for where the body can be read.
            error = error.Error.Code == ErrorCodes.DatabaseUnavailable
                ? await error.ForToolInBodyAsync(context.Request, cancellationToken)
                : error.ForNoTool();
        }

        await WriteAsync(context, error, cancellationToken);
        return true;
    }

    public static Task WriteAsync(HttpContext context, ApiException error, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = error.StatusCode;
        NoCache(context.Response.Headers);
        if (error.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }
        return context.Response.WriteAsJsonAsync(error.ToEnvelope(), ApiJson.Options, JsonObjectResultExecutor.ContentType, cancellationToken);
    }

    /// <summary>
    /// What ASP.NET Core's exception handler middleware sets on every answer to an exception, as the response starts
    /// (over whatever was set before): set here too, so that an error answered without an exception (an unknown
    /// route, a missing key) carries the same headers as one thrown.
    /// </summary>
    private static void NoCache(IHeaderDictionary headers)
    {
        headers.CacheControl = "no-cache,no-store";
        headers.Pragma = "no-cache";
        headers.Expires = "-1";
    }

    /// <summary>405 in the contract's shape, with <c>Allow</c> naming the methods the route takes: for routes that answer it themselves.</summary>
    public static Task WriteMethodNotAllowedAsync(HttpContext context, string allow, CancellationToken cancellationToken)
    {
        context.Response.Headers.Allow = allow;
        return WriteAsync(context, ApiErrors.ForStatusCode(StatusCodes.Status405MethodNotAllowed), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The database cannot be reached: {Method} {Path} answered 503 ({Reason}); {NotLogged} other answers of it not logged since the last such line")]
    private static partial void LogDatabaseUnavailable(ILogger logger, string method, string path, string reason, long notLogged);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
