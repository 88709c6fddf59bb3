using System.Text.Json.Nodes;

namespace AgentCorex.Web.Tools;

public sealed record ToolResponse(string Name, string Description, JsonObject InputSchema, JsonObject OutputSchema);

public sealed record ToolListResponse(IReadOnlyList<ToolResponse> Tools);

internal static class ToolResponseMapping
{
    public static ToolResponse ToResponse(this ToolDescriptor tool) =>
        new(tool.Name, tool.Tool.Description, tool.InputSchema, tool.OutputSchema);
}
