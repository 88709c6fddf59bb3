using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace AgentCorex.Web.Errors;

/// <summary>Turns what MVC's model binding rejected into the first error, named as the client wrote it.</summary>
internal static class ModelStateErrors
{
    public static ApiException ToApiException(ActionContext context)
    {
        if (context.HttpContext.Request is { ContentType: { Length: > 0 } } request && !request.HasJsonContentType()
            && context.ActionDescriptor.Parameters.Any(p => p.BindingInfo?.BindingSource == BindingSource.Body))
        {
            // A form's content type, which MVC reads as a form before it looks for a JSON body: refused as any other
            // body that is not JSON, not as a JSON body that is missing.
            return ApiErrors.ForStatusCode(StatusCodes.Status415UnsupportedMediaType);
        }
        foreach (var (key, entry) in context.ModelState)
        {
            if (entry.Errors.Count == 0)
            {
                continue;
            }
            if (key is "" or "$" or "request")
            {
                return ApiErrors.InvalidRequest("A JSON object body is required");
            }
            // Body fields arrive as JSON paths ("$.timeout_ms"); query and route values by C# name ("Limit").
            var argument = key.StartsWith('$') ? JsonPaths.ToArgument(key) : JsonNamingPolicy.SnakeCaseLower.ConvertName(key);
            return ApiErrors.InvalidArguments($"'{argument}' has an invalid value", argument);
        }
        return ApiErrors.InvalidRequest("The request is not valid");
    }
}
