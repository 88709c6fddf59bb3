using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using AgentCorex.Web.RateLimits;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationModels;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace AgentCorex.Web.Docs;

/// <summary>
/// Declares the error responses every action can give, in the contract's shape, from what the action is:
/// any key (401), an admin route (403), a path id (404), input to validate (400), a JSON body (408, 413, 415), the
/// request limits (429: an execution endpoint's plan limit, or the looser limit on every route a non-admin key
/// may call), a stopping node's refusal of new executions and an unreachable database (503), and the server's own
/// failure (500, from the one exception handler, on any route). Responses peculiar to one action are declared on it.
/// </summary>
internal sealed class ErrorResponsesConvention : IActionModelConvention
{
    public void Apply(ActionModel action)
    {
        // Declared responses replace the one ApiExplorer infers from the return type: keep it.
        if (SuccessType(action.ActionMethod.ReturnType) is { } success
            && !action.Attributes.OfType<ProducesResponseTypeAttribute>().Any(p => p.StatusCode is >= 200 and < 300))
        {
            action.Filters.Add(new ProducesResponseTypeAttribute(success, StatusCodes.Status200OK, "application/json"));
        }
        Add(action, StatusCodes.Status401Unauthorized, "UNAUTHORIZED: no API key, or one that is not valid or has been revoked");
        var authorize = action.Attributes.Concat(action.Controller.Attributes).OfType<AuthorizeAttribute>();
        var adminOnly = authorize.Any(a => a.Policy == ApiKeyPolicies.Admin);
        if (adminOnly)
        {
            Add(action, StatusCodes.Status403Forbidden, "FORBIDDEN: this route needs an admin key");
        }
        if (action.Selectors.Any(s => s.AttributeRouteModel?.Template?.Contains('{', StringComparison.Ordinal) == true)
            || action.Controller.Selectors.Any(s => s.AttributeRouteModel?.Template?.Contains('{', StringComparison.Ordinal) == true))
        {
            Add(action, StatusCodes.Status404NotFound, "*_NOT_FOUND: what the path names does not exist, or is another key's");
        }
        var sources = action.Parameters.Select(p => p.BindingInfo?.BindingSource).ToList();
        if (sources.Contains(BindingSource.Body) || sources.Contains(BindingSource.Query) || action.Parameters.Any(p => p.ParameterType.IsClass && p.ParameterType != typeof(string) && p.BindingInfo is null))
        {
            Add(action, StatusCodes.Status400BadRequest, "INVALID_ARGUMENTS (error.argument names the field, unless no one field is at fault) or INVALID_REQUEST (the body is not a JSON object)");
        }
        if (action.Attributes.OfType<HttpPostAttribute>().Any() || action.Attributes.OfType<HttpPatchAttribute>().Any())
        {
            Add(action, StatusCodes.Status408RequestTimeout, "REQUEST_TIMEOUT: the body came more slowly than 240 bytes a second, after a grace of 5 s");
            Add(action, StatusCodes.Status413PayloadTooLarge, "PAYLOAD_TOO_LARGE: the body is over 1 MiB");
            Add(action, StatusCodes.Status415UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE: the body must be application/json, uncompressed (no Content-Encoding)");
        }
        // As RateLimitFilter and ShutdownFilter apply: the plan's limit on the execution endpoints, the looser
        // per-key limit on the rest (admin keys are exempt from it), new executions refused while stopping.
        if (action.Attributes.OfType<ExecutionRateLimitAttribute>().Any())
        {
            Add(action, StatusCodes.Status429TooManyRequests, "RATE_LIMIT_EXCEEDED: over the key's requests per minute (error.details.limit, retry_after), its executions at once (error.details.max_concurrent) or, submitting a job, its jobs queued (error.details.max_queued, Jobs:MaxQueuedPerKey)", typeof(LimitErrorEnvelope));
            Add(action, StatusCodes.Status503ServiceUnavailable, "SERVER_SHUTTING_DOWN: this node is stopping and starts no new executions; retry on another node. " + DatabaseUnavailable);
        }
        else if (!adminOnly)
        {
            Add(action, StatusCodes.Status429TooManyRequests, "RATE_LIMIT_EXCEEDED: over the per-key limit of requests per minute on the API's other routes (RateLimits:ApiRequestsPerMinute; error.details.limit, retry_after)", typeof(LimitErrorEnvelope));
        }
        Add(action, StatusCodes.Status500InternalServerError, "INTERNAL_ERROR: the server failed to handle the request (logged by the server)");
        Add(action, StatusCodes.Status503ServiceUnavailable, DatabaseUnavailable);
    }

    /// <summary>What any route that reads or writes the database may answer while it cannot be reached (see ApiExceptionHandler).</summary>
    private const string DatabaseUnavailable = "DATABASE_UNAVAILABLE: the database cannot be reached; the request took no effect (a job it stored is taken back, never run, unless it was submitted with an Idempotency-Key: then it is kept, and a retry with the key is answered it), though it may count toward the key's requests per minute; retry after Retry-After";

    /// <summary>T of T, Task&lt;T&gt; or ActionResult&lt;T&gt;; null for IActionResult or a bare Task.</summary>
    private static Type? SuccessType(Type returnType)
    {
        var type = returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>) ? returnType.GetGenericArguments()[0] : returnType;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ActionResult<>))
        {
            type = type.GetGenericArguments()[0];
        }
        return type == typeof(Task) || type == typeof(void) || typeof(IActionResult).IsAssignableFrom(type) ? null : type;
    }

    /// <param name="body">ErrorEnvelope, or LimitErrorEnvelope for a refusal over a limit, whose details the document types.</param>
    private static void Add(ActionModel action, int status, string description, Type? body = null)
    {
        if (!action.Filters.OfType<ProducesResponseTypeAttribute>().Any(p => p.StatusCode == status)
            && !action.Attributes.OfType<ProducesResponseTypeAttribute>().Any(p => p.StatusCode == status))
        {
            action.Filters.Add(new ProducesResponseTypeAttribute(body ?? typeof(ErrorEnvelope), status, "application/json") { Description = description });
        }
    }
}
