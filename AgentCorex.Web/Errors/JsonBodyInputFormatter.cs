using AgentCorex.Web.Api;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Formatters;

namespace AgentCorex.Web.Errors;

/// <summary>
/// Reads JSON request bodies in two steps so the client learns which went wrong: a body that is not JSON
/// (INVALID_REQUEST) or a field of the wrong JSON type (INVALID_ARGUMENTS naming the field). MVC's own
/// formatter folds both into one message that names CLR types.
/// </summary>
internal sealed class JsonBodyInputFormatter : TextInputFormatter
{
    public JsonBodyInputFormatter()
    {
        SupportedMediaTypes.Add("application/json");
        SupportedMediaTypes.Add("application/*+json");
        SupportedEncodings.Add(UTF8EncodingWithoutBOM);
    }

    public override async Task<InputFormatterResult> ReadRequestBodyAsync(InputFormatterContext context, Encoding encoding)
    {
        var request = context.HttpContext.Request;
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = ApiJson.Options.MaxDepth }, context.HttpContext.RequestAborted);
        }
        catch (JsonException)
        {
            throw ApiErrors.InvalidRequest("The request body is not valid JSON");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ApiErrors.InvalidRequest("The request body must be a JSON object");
            }
            try
            {
                return InputFormatterResult.Success(document.RootElement.Deserialize(context.ModelType, ApiJson.Options));
            }
            catch (JsonException e)
            {
                var field = JsonPaths.ToArgument(e.Path);
                throw ApiErrors.InvalidArguments($"'{field}' has the wrong JSON type", field);
            }
        }
    }
}
