using System.Text.Json.Nodes;
using AgentCorex.Tools;
using FluentValidation;

namespace AgentCorex.Web.Tools;

/// <summary>A discovered tool with what the host derives from it once, at start.</summary>
public sealed class ToolDescriptor(ITool tool, IValidator validator, JsonObject inputSchema, JsonObject outputSchema, ILogger logger)
{
    /// <summary>The logger the tool's executions get (category AgentCorex.Tools.&lt;name&gt;).</summary>
    public ILogger Logger { get; } = logger;

    public string Name => Tool.Name;

    public ITool Tool { get; } = tool;

    public IValidator Validator { get; } = validator;

    /// <summary>Whether the validator has asynchronous rules, which only ValidateAsync runs; found at its first run.</summary>
    internal bool ValidatesAsynchronously { get; set; }

    public JsonObject InputSchema { get; } = inputSchema;

    public JsonObject OutputSchema { get; } = outputSchema;
}
