using AgentCorex.Web.Auth;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Mvc;

namespace AgentCorex.Web.Tools;

[ApiController]
[Route("tools")]
public sealed class ToolsController(ToolCatalog catalog) : ControllerBase
{
    [HttpGet(Name = "listTools")]
    [EndpointSummary("List the tools, with their input and output schemas")]
    public ToolListResponse List() => new([.. catalog.All.Select(t => t.ToResponse())]);

    [HttpGet("{name}", Name = "getTool")]
    [EndpointSummary("Read a tool, with its input and output schemas")]
    public ToolResponse Get(string name) =>
        (catalog.Find(name) ?? throw ApiErrors.ToolNotFound(name)).ToResponse();

    /// <summary>The tool's outcomes over the caller's jobs; an admin key's cover every job.</summary>
    [HttpGet("{name}/metrics", Name = "getToolMetrics")]
    [EndpointSummary("A tool's outcomes over the caller's jobs (every job for an admin key)")]
    public async Task<ToolMetricsResponse> Metrics(string name, [FromServices] ToolMetrics metrics, CancellationToken cancellationToken)
    {
        var tool = catalog.Find(name) ?? throw ApiErrors.ToolNotFound(name);
        return await metrics.ForAsync(tool.Name, ApiKeyIdentity.From(User), cancellationToken);
    }
}
