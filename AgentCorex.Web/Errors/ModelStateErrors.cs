using System.Text.Json;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace AgentCorex.Web.Errors;

/// <summary>Turns what MVC's model binding rejected into the first error, named as the client wrote it.</summary>
internal static class ModelStateErrors
{
    public static ApiException ToApiException(ModelStateDictionary modelState)
    {
        foreach (var (key, entry) in modelState)
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
