using System.Diagnostics;
using AgentCorex.Tools;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A tool plugin built as a user builds one: a class library outside the repository (none of its build settings or
/// package versions), referencing the server's AgentCorex.Tools.dll and the packages given, built by the dotnet CLI
/// (its packages restored from the machine's cache or nuget.org).
/// </summary>
public static class PluginBuild
{
    private static readonly TimeSpan BuildDeadline = TimeSpan.FromMinutes(3);

    /// <returns>The folder of the built plugin, for Tools:PluginPaths.</returns>
    /// <param name="version">The assembly's version, when not the SDK's 1.0.0.0.</param>
    /// <param name="libraries">
    /// Class libraries of the plugin's solution (name and source) that it references, built with it into its folder.
    /// </param>
    public static async Task<string> BuildAsync(
        string folder, string name, string source, IDictionary<string, string>? packages = null, string version = "1.0.0", IDictionary<string, string>? libraries = null)
    {
        foreach (var (library, librarySource) in libraries ?? new Dictionary<string, string>())
        {
            await WriteProjectAsync(folder, library, librarySource, "", version);
        }
        var references = string.Concat((packages ?? new Dictionary<string, string>()).Select(p => $"<PackageReference Include=\"{p.Key}\" Version=\"{p.Value}\" />"))
            + string.Concat((libraries?.Keys ?? []).Select(l => $"<ProjectReference Include=\"../{l}/{l}.csproj\" />"));
        var project = await WriteProjectAsync(folder, name, source, references, version);

        var output = Path.Combine(folder, "out");
        var build = new ProcessStartInfo("dotnet") { WorkingDirectory = project, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // No build server is left behind (an MSBuild node, VBCSCompiler) to outlive the test run.
        foreach (var argument in new[] { "build", "-v", "q", "-nologo", "--disable-build-servers", "-o", output })
        {
            build.ArgumentList.Add(argument);
        }
        using var process = Process.Start(build) ?? throw new InvalidOperationException("dotnet did not start");
        var log = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(BuildDeadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            // A restore that hangs (nuget.org not answering) would otherwise hang the whole test run.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"the plugin {name} did not build in {BuildDeadline.TotalMinutes} minutes:\n{await log}\n{await errors}");
        }
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"the plugin {name} did not build:\n{await log}\n{await errors}");
    }

    /// <returns>The project's folder.</returns>
    private static async Task<string> WriteProjectAsync(string folder, string name, string source, string references, string version)
    {
        var project = Path.Combine(folder, name);
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings><Version>{version}</Version></PropertyGroup>
              <ItemGroup>
                <Reference Include="AgentCorex.Tools" HintPath="{typeof(ITool).Assembly.Location}" />
                {references}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(project, name + ".cs"), source);
        return project;
    }
}
