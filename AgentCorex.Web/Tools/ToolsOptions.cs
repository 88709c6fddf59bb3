namespace AgentCorex.Web.Tools;

public sealed class ToolsOptions
{
    public const string Section = "Tools";

    /// <summary>
    /// Plugin assemblies to scan for tools besides the built-in ones: .dll files, whose neighbours are loaded as their
    /// dependencies but not scanned, or folders whose .dll files are all scanned.
    /// </summary>
    public List<string> PluginPaths { get; set; } = [];

    /// <summary>
    /// The settings, with <c>Tools:PluginPaths</c> given as one value (<c>--Tools:PluginPaths=dir</c>,
    /// <c>Tools__PluginPaths=dir</c>) taken as one path, before the numbered ones: the binder drops a list's single value
    /// without a word.
    /// </summary>
    public static ToolsOptions Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var options = section.Get<ToolsOptions>() ?? new ToolsOptions();
        if (section[nameof(PluginPaths)] is { Length: > 0 } single)
        {
            options.PluginPaths.Insert(0, single);
        }
        return options;
    }
}
