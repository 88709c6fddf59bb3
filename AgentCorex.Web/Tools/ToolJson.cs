using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Tools;

/// <summary>How tool arguments are read: the API's conventions, strictly (no unknown, missing or null values).</summary>
internal static class ToolJson
{
    public static JsonSerializerOptions Arguments { get; } = CreateArgumentOptions();

    private static JsonSerializerOptions CreateArgumentOptions()
    {
        var options = new JsonSerializerOptions(ApiJson.Options)
        {
            RespectRequiredConstructorParameters = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
