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
            var argument = key.StartsWith("$.", StringComparison.Ordinal) ? key[2..] : key;
            if (argument is "" or "$" or "request")
            {
                return ApiErrors.InvalidRequest("A JSON object body is required");
            }
            return ApiErrors.InvalidArguments($"Invalid value for '{argument}'", argument);
        }
        return ApiErrors.InvalidRequest("The request is not valid");
    }
}
