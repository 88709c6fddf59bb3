using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Infrastructure;

namespace AgentCorex.Web.Api;

/// <summary>
/// Writes every <see cref="ObjectResult"/> of the API as JSON in its conventions. MVC's own executor negotiates a
/// formatter from the Accept header first; here that could only ever pick JSON, and on a quick tool's run it
/// cost as much as the tool. As MVC's does, it lets the result set its headers first, and answers a null value
/// with 200 as 204 No Content.
/// </summary>
internal sealed class JsonObjectResultExecutor : IActionResultExecutor<ObjectResult>
{
    /// <summary>Every JSON answer's, errors' included.</summary>
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>
    /// Every JSON answer's: answers hold results, keys and secrets shown once, and a job's state that changes; no
    /// cache, shared or private, keeps them. Errors say <c>no-cache,no-store</c>, as ASP.NET Core's exception handler does.
    /// </summary>
    public const string NoStore = "no-store";

    public Task ExecuteAsync(ActionContext context, ObjectResult result)
    {
        var response = context.HttpContext.Response;
        response.Headers.CacheControl = NoStore;
        result.OnFormatting(context); // where AcceptedResult and CreatedResult set their Location
        if (result.StatusCode is { } status)
        {
            response.StatusCode = status;
        }
        if (result.Value is not { } value)
        {
            if (response.StatusCode == StatusCodes.Status200OK)
            {
                response.StatusCode = StatusCodes.Status204NoContent;
            }
            return Task.CompletedTask;
        }
        // The value's own type, as MVC's JSON formatter takes it where the declared type is not polymorphic (none here is).
        return response.WriteAsJsonAsync(value, value.GetType(), ApiJson.Options, ContentType, context.HttpContext.RequestAborted);
    }
}
