using System.Diagnostics;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Tools;

/// <summary>
/// The plugin assemblies of <c>Tools:PluginPaths</c> and their public types. A plugin is loaded into the server's own
/// load context, so what the server has (AgentCorex.Tools, FluentValidation) resolves to the server's copy when the
/// plugin asks for that version or an older one; a copy beside the plugin is not used. What the server has not is found
/// by name among the assemblies loaded from the plugins' folders, a file named alone's folder included.
/// </summary>
internal static class PluginAssemblies
{
    private const int MaxNamedTypes = 5;

    private const int MaxReason = 300;

    /// <summary>
    /// Every configured assembly, all loaded before any is scanned: a folder's assemblies may need one another, and
    /// are found by name only once loaded. A folder's copy of an assembly the server has is no plugin but its dependency,
    /// and is not scanned. A folder's .dll that is no .NET assembly (a native library of a RID-specific publish:
    /// e_sqlite3.dll, Microsoft.Data.SqlClient.SNI.dll) is passed over, told in <paramref name="notAssemblies"/>; a file
    /// named alone must be one. The .dll files beside a file named alone are loaded as a folder's are, after every
    /// configured one, and not scanned: they are its dependencies (its project references, a published plugin's
    /// packages), not plugins. One of them that cannot be loaded is passed over, told in <paramref name="passedOver"/>
    /// (<see cref="LoadNeighbour"/>).
    /// </summary>
    public static List<Assembly> Load(IEnumerable<string> pluginPaths, string contentRoot, List<string> notAssemblies, List<string> passedOver)
    {
        var loaded = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var assemblies = new List<Assembly>();
        var folders = new List<string>();
        var besideFilesNamedAlone = new List<string>();
        foreach (var configured in pluginPaths)
        {
            var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(configured, contentRoot));
            var inFolder = Directory.Exists(path);
            var files = inFolder ? Directory.GetFiles(path, "*.dll")
                : File.Exists(path) ? [path]
                : throw new StartupRefusedException($"Tools:PluginPaths names '{configured}', which is neither a .dll file nor a folder.");
            if (inFolder)
            {
                folders.Add(path);
            }
            else
            {
                besideFilesNamedAlone.Add(Path.GetDirectoryName(path)!);
            }
            assemblies.AddRange(LoadAll(files, inFolder, loaded, notAssemblies));
        }
        // Last, so that a copy a configured folder or file holds is the one loaded, and scanned.
        foreach (var folder in besideFilesNamedAlone.Distinct(StringComparer.Ordinal).Except(folders, StringComparer.Ordinal))
        {
            foreach (var file in Directory.GetFiles(folder, "*.dll").Order(StringComparer.Ordinal))
            {
                if (NameOf(file, inFolder: true, notAssemblies) is { } name)
                {
                    LoadNeighbour(file, name, loaded, passedOver);
                }
            }
        }
        return assemblies;
    }

    /// <summary>
    /// A file beside a plugin named alone, loaded as a folder's is, except that one the loader refuses is passed over
    /// with a Warning: bin/Release/net10.0 holds what the plugin was built with, not only what it needs (a reference
    /// assembly, a C++/CLI or other-architecture library, one whose name a startup hook loaded already), and the plugin
    /// worked without them before its neighbours were loaded. A version conflict is still refused (<see cref="LoadOnce"/>):
    /// that is two plugins' dependencies at odds, not a file to do without.
    /// </summary>
    private static void LoadNeighbour(string file, AssemblyName name, Dictionary<string, string> loaded, List<string> passedOver)
    {
        try
        {
            LoadOnce(file, name, inFolder: true, loaded);
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException)
        {
            loaded.Remove(name.Name!); // another folder's copy may still load
            passedOver.Add($"Tools:PluginPaths: {file}, beside a plugin named alone, cannot be loaded, passed over: "
                + Reason(e.Message));
        }
    }

    /// <summary>
    /// The files' assemblies, each loaded once (<see cref="LoadOnce"/>); those to scan are returned. A configured file or a
    /// folder's that the loader refuses (a reference assembly, a C++/CLI or other-architecture library) stops the start
    /// naming it, where its exception and stack trace did: unlike a neighbour's (<see cref="LoadNeighbour"/>), it was
    /// put there as a plugin or a plugin's dependency.
    /// </summary>
    private static List<Assembly> LoadAll(string[] files, bool inFolder, Dictionary<string, string> loaded, List<string> notAssemblies)
    {
        var assemblies = new List<Assembly>();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            try
            {
                if (NameOf(file, inFolder, notAssemblies) is { } name && LoadOnce(file, name, inFolder, loaded) is { } assembly)
                {
                    assemblies.Add(assembly);
                }
            }
            catch (Exception e) when (e is BadImageFormatException or FileLoadException)
            {
                throw new StartupRefusedException(
                    $"Tools:PluginPaths holds {file}, which cannot be loaded: {Reason(e.Message)}", e);
            }
        }
        return assemblies;
    }

    /// <summary>The file's assembly name; null for a folder's file that is no .NET assembly, which one named alone must be.</summary>
    private static AssemblyName? NameOf(string file, bool inFolder, List<string> notAssemblies)
    {
        try
        {
            return AssemblyName.GetAssemblyName(file);
        }
        catch (BadImageFormatException) when (inFolder)
        {
            notAssemblies.Add(file);
            return null;
        }
        catch (BadImageFormatException e)
        {
            throw new StartupRefusedException($"Tools:PluginPaths names '{file}', which is not a .NET assembly.", e);
        }
    }

    /// <summary>
    /// The file's assembly, loaded into the server's one load context, which holds one assembly of a name: a dependency
    /// that two plugin folders carry (<paramref name="loaded"/>: by name, the file first loaded) is loaded from the first,
    /// and serves both, if of one version; of two, the start is refused naming both, where the second crashed it
    /// (FileLoadException). A second copy, and a folder's copy of an assembly the server has, give null: nothing to scan.
    /// </summary>
    private static Assembly? LoadOnce(string file, AssemblyName name, bool inFolder, Dictionary<string, string> loaded)
    {
        if (ServerCopyOf(name.Name) is { } server)
        {
            // The server's own assembly (AgentCorex.Tools beside a plugin built with a reference to it, FluentValidation in
            // a published one) cannot be loaded beside the server's copy, which serves; a newer copy stops the start: the
            // plugin was built against a version the server lacks. One named alone is scanned as asked (a test assembly,
            // which the test host counts as its own); a folder's is a plugin's dependency, not scanned.
            return name.Version > AssemblyName.GetAssemblyName(server).Version
                ? throw new StartupRefusedException($"Tools:PluginPaths holds {file}: {Mismatch(name, server)}")
                : inFolder ? null : AssemblyLoadContext.Default.LoadFromAssemblyName(name);
        }
        if (loaded.TryGetValue(name.Name!, out var first))
        {
            var firstVersion = AssemblyName.GetAssemblyName(first).Version;
            return firstVersion == name.Version ? null
                : throw new StartupRefusedException($"Tools:PluginPaths holds {name.Name} {firstVersion} ({first}) and {name.Version} ({file}): "
                    + $"the server loads one copy of an assembly for every plugin; build them against one version of {name.Name}.");
        }
        loaded[name.Name!] = file;
        return AssemblyLoadContext.Default.LoadFromAssemblyPath(file);
    }

    /// <summary>
    /// The assembly's public types. A type that needs another version of an assembly the server has (a validator built
    /// against FluentValidation 12, where the server ships 11) stops the start naming the types and both versions: it
    /// would be dropped, and its tool refused for want of a validator. A type that needs an assembly the server does not
    /// have at all is passed over, told in <paramref name="passedOver"/>: a plugin copied without the libraries it was built
    /// with holds such types.
    /// </summary>
    public static Type[] ExportedTypes(Assembly assembly, List<string> passedOver)
    {
        try
        {
            return [.. assembly.GetTypes().Where(t => t.IsVisible)];
        }
        catch (ReflectionTypeLoadException partial)
        {
            // Each type the loader left out is asked for alone, for its own reason (LoaderExceptions do not name their types).
            var loaded = partial.Types.OfType<Type>().Where(t => t.IsVisible).ToList();
            var failures = new List<(string Type, Exception Reason)>();
            foreach (var name in VisibleTypeNames(assembly).Except(loaded.Select(t => t.FullName!), StringComparer.Ordinal))
            {
                try
                {
                    loaded.Add(assembly.GetType(name, throwOnError: true)!);
                }
                catch (Exception e) when (e is TypeLoadException or FileLoadException or FileNotFoundException or BadImageFormatException)
                {
                    failures.Add((name, e));
                }
            }
            var plugin = $"Plugin {assembly.GetName().Name} ({assembly.Location})";
            foreach (var failure in failures.GroupBy(f => f.Reason.Message, StringComparer.Ordinal))
            {
                var types = Named([.. failure.Select(f => f.Type)]);
                var reason = failure.First().Reason;
                if (ServerVersionOf(reason) is { } mismatch)
                {
                    throw new StartupRefusedException($"{plugin}: {types} cannot be loaded: {mismatch}", reason);
                }
                passedOver.Add($"{plugin}: {types} cannot be loaded, passed over: {Reason(failure.Key)}");
            }
            return [.. loaded];
        }
    }

    /// <summary>The reason the loader gives, when it names an assembly the server has in another version; null when not.</summary>
    private static string? ServerVersionOf(Exception? reason)
    {
        var wanted = reason switch
        {
            FileLoadException load => load.FileName,
            FileNotFoundException missing => missing.FileName,
            _ => null,
        };
        try
        {
            var asked = new AssemblyName(wanted ?? "");
            return ServerCopyOf(asked.Name) is { } server && AssemblyName.GetAssemblyName(server).Version != asked.Version ? Mismatch(asked, server) : null;
        }
        catch (Exception e) when (e is FileLoadException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>
    /// "FluentValidation, Version=12.0.0.0 could not be loaded: the server has FluentValidation 11.11.0; build the plugin
    /// against FluentValidation 11.x.": what the server has instead of the version asked (in its <paramref name="server"/> file).
    /// </summary>
    private static string Mismatch(AssemblyName asked, string server)
    {
        var version = FileVersionInfo.GetVersionInfo(server).ProductVersion?.Split('+')[0] ?? AssemblyName.GetAssemblyName(server).Version!.ToString();
        return $"{asked.Name}, Version={asked.Version} could not be loaded: the server has {asked.Name} {version}; "
            + $"build the plugin against {asked.Name} {version.Split('.')[0]}.x.";
    }

    /// <summary>The file of the server's own assembly of that name (the runtime's trusted assemblies: the server's and .NET's).</summary>
    private static string? ServerCopyOf(string? name) =>
        name is null ? null
        : (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string)?.Split(Path.PathSeparator)
            .FirstOrDefault(file => string.Equals(Path.GetFileNameWithoutExtension(file), name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The full names of the assembly's public types, read from its metadata: those the loader could not load too.</summary>
    private static List<string> VisibleTypeNames(Assembly assembly)
    {
        using var file = File.OpenRead(assembly.Location);
        using var image = new PEReader(file);
        var metadata = image.GetMetadataReader();
        var names = new List<string>();
        foreach (var handle in metadata.TypeDefinitions)
        {
            if (VisibleName(metadata, handle) is { } name)
            {
                names.Add(name);
            }
        }
        return names;
    }

    private static string? VisibleName(MetadataReader metadata, TypeDefinitionHandle handle)
    {
        var type = metadata.GetTypeDefinition(handle);
        var visibility = type.Attributes & TypeAttributes.VisibilityMask;
        if (visibility == TypeAttributes.Public)
        {
            var space = metadata.GetString(type.Namespace);
            return space.Length == 0 ? metadata.GetString(type.Name) : $"{space}.{metadata.GetString(type.Name)}";
        }
        return visibility == TypeAttributes.NestedPublic && VisibleName(metadata, type.GetDeclaringType()) is { } outer
            ? $"{outer}+{metadata.GetString(type.Name)}"
            : null;
    }

    /// <summary>"type A", or "types A, B and 3 more": a plugin may fail to load many.</summary>
    private static string Named(List<string> types) => types switch
    {
        [var one] => $"type {one}",
        { Count: <= MaxNamedTypes } => $"types {string.Join(", ", types)}",
        _ => $"types {string.Join(", ", types.Take(MaxNamedTypes))} and {types.Count - MaxNamedTypes} more",
    };

    /// <summary>A loader's message on one line, bounded, as every refusal and passed-over file here names it.</summary>
    private static string Reason(string message) => ApiErrors.Echo(message.ReplaceLineEndings(" ").Trim(), MaxReason);
}
