using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ApplicationModels;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace AgentCorex.Web.Docs;

/// <summary>
/// Declares the error responses every action can give, in the contract's shape, from what the action is:
/// any key (401), an admin route (403), a path id (404), input to validate (400), a JSON body (413, 415).
/// Responses peculiar to one action are declared on it.
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
        Add(action, StatusCodes.Status401Unauthorized);
        var authorize = action.Attributes.Concat(action.Controller.Attributes).OfType<AuthorizeAttribute>();
        if (authorize.Any(a => a.Policy == ApiKeyPolicies.Admin))
        {
            Add(action, StatusCodes.Status403Forbidden);
        }
        if (action.Selectors.Any(s => s.AttributeRouteModel?.Template?.Contains('{', StringComparison.Ordinal) == true)
            || action.Controller.Selectors.Any(s => s.AttributeRouteModel?.Template?.Contains('{', StringComparison.Ordinal) == true))
        {
            Add(action, StatusCodes.Status404NotFound);
        }
        var sources = action.Parameters.Select(p => p.BindingInfo?.BindingSource).ToList();
        if (sources.Contains(BindingSource.Body) || sources.Contains(BindingSource.Query) || action.Parameters.Any(p => p.ParameterType.IsClass && p.ParameterType != typeof(string) && p.BindingInfo is null))
        {
            Add(action, StatusCodes.Status400BadRequest);
        }
        if (action.Attributes.OfType<HttpPostAttribute>().Any() || action.Attributes.OfType<HttpPatchAttribute>().Any())
        {
            Add(action, StatusCodes.Status413PayloadTooLarge);
            Add(action, StatusCodes.Status415UnsupportedMediaType);
        }
    }

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

    private static void Add(ActionModel action, int status)
    {
        if (!action.Filters.OfType<ProducesResponseTypeAttribute>().Any(p => p.StatusCode == status)
            && !action.Attributes.OfType<ProducesResponseTypeAttribute>().Any(p => p.StatusCode == status))
        {
            action.Filters.Add(new ProducesResponseTypeAttribute(typeof(ErrorEnvelope), status, "application/json"));
        }
    }
}
