using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Web.Api;

namespace AgentCorex.Web.Tools;

/// <summary>How tool arguments are read: the API's conventions, strictly (no unknown, missing or null values).</summary>
internal static class ToolJson
{
    /// <summary>What arguments are read with: strings of a format as their schema says them (<see cref="ArgumentFormats"/>).</summary>
    public static JsonSerializerOptions Arguments { get; } = CreateArgumentOptions(strictFormats: true);

    /// <summary>
    /// What arguments' schemas are exported with: the same, but with System.Text.Json's readers of formats, which its
    /// exporter describes (one of its own it cannot), and <see cref="ArgumentFormats.Describe"/> corrects.
    /// </summary>
    public static JsonSerializerOptions Described { get; } = CreateArgumentOptions(strictFormats: false);

    private static JsonSerializerOptions CreateArgumentOptions(bool strictFormats)
    {
        var options = new JsonSerializerOptions(ApiJson.Options)
        {
            RespectRequiredConstructorParameters = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        };
        if (strictFormats)
        {
            // Before ApiJson's converter of enums, which takes more names than the schema lists.
            options.Converters.Insert(0, new PublishedEnumNames());
            foreach (var reader in ArgumentFormats.Readers)
            {
                options.Converters.Add(reader);
            }
        }
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
