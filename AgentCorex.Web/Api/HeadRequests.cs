using Microsoft.AspNetCore.Mvc.ActionConstraints;
using Microsoft.AspNetCore.Mvc.ApplicationModels;

namespace AgentCorex.Web.Api;

/// <summary>
/// HEAD wherever GET, as RFC 9110 requires: the same status and headers, no body (Kestrel drops whatever is written).
/// Routes name GET only; HEAD is added beside it as the routes are built, on every controller action by
/// <see cref="HeadBesideGetConvention"/> and on a minimal endpoint by <see cref="AnswerHeadAsGet{TBuilder}"/>. An
/// endpoint mapped without methods is limited to GET and HEAD by <see cref="ReadOnly{TBuilder}"/> (the health checks,
/// /metrics); the dashboard answers every method and decides itself.
/// </summary>
public static class HeadRequests
{
    /// <summary>The endpoints <paramref name="builder"/> maps answer HEAD where they answer GET.</summary>
    public static TBuilder AnswerHeadAsGet<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.Add(endpoint =>
        {
            // The last IHttpMethodMetadata is the one routing goes by.
            if (endpoint.Metadata.OfType<IHttpMethodMetadata>().LastOrDefault() is { } methods && WithHead(methods.HttpMethods) is { } both)
            {
                endpoint.Metadata.Add(new HttpMethodMetadata(both, methods.AcceptCorsPreflight));
            }
        });
        return builder;
    }

    /// <summary>
    /// An endpoint mapped for every method (a health check, the metrics scrape) answers GET and HEAD only: anything
    /// else is 405 METHOD_NOT_ALLOWED with <c>Allow</c>, as on every other route, rather than a 200 to a POST or DELETE.
    /// </summary>
    public static TBuilder ReadOnly<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));

    /// <summary><paramref name="methods"/> with HEAD added if they have GET and not HEAD; otherwise null.</summary>
    internal static string[]? WithHead(IReadOnlyList<string> methods) =>
        methods.Any(HttpMethods.IsGet) && !methods.Any(HttpMethods.IsHead) ? [.. methods, HttpMethods.Head] : null;
}

/// <summary>
/// Adds HEAD beside GET on every selector of every controller action: to the method metadata endpoint routing
/// matches on, and to the action constraint, which MVC still evaluates when any action has constraints of its own.
/// </summary>
internal sealed class HeadBesideGetConvention : IActionModelConvention
{
    public void Apply(ActionModel action)
    {
        foreach (var selector in action.Selectors)
        {
            for (var i = 0; i < selector.ActionConstraints.Count; i++)
            {
                if (selector.ActionConstraints[i] is HttpMethodActionConstraint constraint && HeadRequests.WithHead([.. constraint.HttpMethods]) is { } methods)
                {
                    selector.ActionConstraints[i] = new HttpMethodActionConstraint(methods);
                }
            }
            for (var i = 0; i < selector.EndpointMetadata.Count; i++)
            {
                if (selector.EndpointMetadata[i] is HttpMethodMetadata metadata && HeadRequests.WithHead(metadata.HttpMethods) is { } methods)
                {
                    selector.EndpointMetadata[i] = new HttpMethodMetadata(methods, metadata.AcceptCorsPreflight);
                }
            }
        }
    }
}
