using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Mvc;

namespace AgentCorex.Web.Tools;

[ApiController]
[Route("tools")]
public sealed class ToolsController(ToolCatalog catalog) : ControllerBase
{
    [HttpGet]
    public ToolListResponse List() => new([.. catalog.All.Select(t => t.ToResponse())]);

    [HttpGet("{name}")]
    public ToolResponse Get(string name) =>
        (catalog.Find(name) ?? throw ApiErrors.ToolNotFound(name)).ToResponse();
}
