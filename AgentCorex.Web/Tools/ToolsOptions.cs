namespace AgentCorex.Web.Tools;

public sealed class ToolsOptions
{
    public const string Section = "Tools";

    /// <summary>Plugin assemblies to scan for tools besides the built-in ones: .dll files, or folders whose .dll files are all scanned.</summary>
    public List<string> PluginPaths { get; set; } = [];
}
