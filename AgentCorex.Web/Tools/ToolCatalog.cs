using AgentCorex.Tools;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using FluentValidation;
using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace AgentCorex.Web.Tools;

/// <summary>Every tool the server can run, by name. Built once at start; a bad plugin stops the start.</summary>
public sealed partial class ToolCatalog
{
    private readonly FrozenDictionary<string, ToolDescriptor> tools;

    private const int MaxLoadedLine = 2000;

    public ToolCatalog(IEnumerable<ITool> tools, IServiceProvider services, ILoggerFactory loggers, PluginScan? scan = null)
    {
        var byName = new Dictionary<string, ToolDescriptor>(StringComparer.Ordinal);
        foreach (var tool in tools)
        {
            if (!SnakeCase().IsMatch(NameOf(tool)))
            {
                throw new StartupRefusedException(
                    $"Tool {tool.GetType().FullName} has the name '{tool.Name}': a tool name must be snake_case (^[a-z][a-z0-9_]{{0,63}}$).");
            }
            if (byName.TryGetValue(tool.Name, out var existing))
            {
                throw new StartupRefusedException(
                    $"Two tools are named '{tool.Name}': {existing.Tool.GetType().AssemblyQualifiedName} and {tool.GetType().AssemblyQualifiedName}. Rename one or remove its assembly.");
            }
            var validators = ValidatorsOf(tool, services);
            if (validators.Count > 1)
            {
                // Only the last registered would run, and the others' rules be silently dropped.
                throw new StartupRefusedException(
                    $"Tool '{tool.Name}' has {validators.Count} validators of {tool.ArgumentsType.Name} ({string.Join(", ", validators.Select(v => v.GetType().FullName))}), "
                    + "and only one would run: merge their rules into one, or make one Include() the other and the other not public.");
            }
            var validator = validators.SingleOrDefault()
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

        var logger = loggers.CreateLogger<ToolCatalog>();
        foreach (var passedOver in scan?.PassedOver ?? [])
        {
            LogPassedOver(logger, passedOver);
        }
        foreach (var file in scan?.NotAssemblies ?? [])
        {
            LogNotAnAssembly(logger, file);
        }
        LogLoaded(logger, ApiErrors.Echo(Origins(All), MaxLoadedLine));
    }

    /// <summary>"echo, fail, wait (built in); shout (/srv/plugins/Ext.dll)": which tools this node runs, and from where.</summary>
    private static string Origins(IEnumerable<ToolDescriptor> tools) => string.Join("; ", tools
        .GroupBy(t => t.Tool.GetType().Assembly)
        .Select(g => $"{string.Join(", ", g.Select(t => t.Name))} ({(g.Key == typeof(ITool).Assembly ? "built in" : g.Key.Location)})"));

    [LoggerMessage(Level = LogLevel.Information, Message = "Tools loaded: {Tools}")]
    private static partial void LogLoaded(ILogger logger, string tools);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{PassedOver}")]
    private static partial void LogPassedOver(ILogger logger, string passedOver);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Tools:PluginPaths: {File} is not a .NET assembly (a native library, say), passed over")]
    private static partial void LogNotAnAssembly(ILogger logger, string file);

    /// <summary>The tool's name, read once here: a plugin whose Name throws stops the start naming its type.</summary>
    private static string NameOf(ITool tool)
    {
        try
        {
            return tool.Name;
        }
        catch (Exception e)
        {
            throw new StartupRefusedException($"Tool {tool.GetType().FullName} cannot say its name: {e.Message}", e);
        }
    }

    /// <summary>
    /// The validators of the tool's arguments, made here: one whose constructor throws (a pattern that cannot run
    /// without backtracking, or that .NET cannot read as ECMA-262 does, in <see cref="PublishedPatterns"/>) stops the start naming
    /// the tool and the reason.
    /// </summary>
    private static List<IValidator> ValidatorsOf(ITool tool, IServiceProvider services) =>
        ToolsExtensions.CreatedOrRefused(
            $"The validator of tool '{tool.Name}' ({tool.ArgumentsType.Name})",
            () => services.GetServices(typeof(IValidator<>).MakeGenericType(tool.ArgumentsType)).OfType<IValidator>().ToList());

    public IReadOnlyList<ToolDescriptor> All { get; }

    public ToolDescriptor? Find(string name) => tools.GetValueOrDefault(name);

    /// <summary>Whether a cut-off run of this tool may run again; a tool no longer installed may not.</summary>
    public bool IsSafeToRetry(string name) => Find(name)?.Tool.SafeToRetry == true;

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex SnakeCase();
}
