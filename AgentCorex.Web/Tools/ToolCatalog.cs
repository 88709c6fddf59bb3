using AgentCorex.Tools;
using AgentCorex.Web.Api;
using FluentValidation;
using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace AgentCorex.Web.Tools;

/// <summary>Every tool the server can run, by name. Built once at start; a bad plugin stops the start.</summary>
public sealed partial class ToolCatalog
{
    private readonly FrozenDictionary<string, ToolDescriptor> tools;

    public ToolCatalog(IEnumerable<ITool> tools, IServiceProvider services, ILoggerFactory loggers)
    {
        var byName = new Dictionary<string, ToolDescriptor>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (!SnakeCase().IsMatch(tool.Name))
            {
                throw new StartupRefusedException(
                    $"Tool {tool.GetType().FullName} has the name '{tool.Name}': a tool name must be snake_case (^[a-z][a-z0-9_]{{0,63}}$).");
            }
            if (byName.TryGetValue(tool.Name, out var existing))
            {
                throw new StartupRefusedException(
                    $"Two tools are named '{tool.Name}': {existing.Tool.GetType().AssemblyQualifiedName} and {tool.GetType().AssemblyQualifiedName}. Rename one or remove its assembly.");
            }
            var validatorType = typeof(IValidator<>).MakeGenericType(tool.ArgumentsType);
            var validator = (IValidator?)services.GetService(validatorType)
                ?? throw new StartupRefusedException(
                    $"Tool '{tool.Name}' has no validator: add a public AbstractValidator<{tool.ArgumentsType.Name}> to {tool.GetType().Assembly.GetName().Name}.");
            byName.Add(tool.Name, new ToolDescriptor(
                tool,
                validator,
                ToolSchemas.ForArguments(tool.ArgumentsType, validator),
                ToolSchemas.ForResult(tool.ResultType),
                loggers.CreateLogger("AgentCorex.Tools." + tool.Name)));
        }
        this.tools = byName.ToFrozenDictionary(StringComparer.Ordinal);
        All = [.. this.tools.Values.OrderBy(t => t.Name, StringComparer.Ordinal)];
    }

    public IReadOnlyList<ToolDescriptor> All { get; }

    public ToolDescriptor? Find(string name) => tools.GetValueOrDefault(name);

    /// <summary>Whether a cut-off run of this tool may run again; a tool no longer installed may not.</summary>
    public bool IsSafeToRetry(string name) => Find(name)?.Tool.SafeToRetry == true;

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex SnakeCase();
}
