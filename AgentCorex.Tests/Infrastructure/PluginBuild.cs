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
    /// <returns>The folder of the built plugin, for Tools:PluginPaths.</returns>
    public static async Task<string> BuildAsync(string folder, string name, string source, IDictionary<string, string>? packages = null)
    {
        var project = Path.Combine(folder, name);
        Directory.CreateDirectory(project);
        var references = string.Concat((packages ?? new Dictionary<string, string>()).Select(p => $"<PackageReference Include=\"{p.Key}\" Version=\"{p.Value}\" />"));
        await File.WriteAllTextAsync(Path.Combine(project, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><Nullable>enable</Nullable><ImplicitUsings>enable</ImplicitUsings></PropertyGroup>
              <ItemGroup>
                <Reference Include="AgentCorex.Tools" HintPath="{typeof(ITool).Assembly.Location}" />
                {references}
              </ItemGroup>
            </Project>
            """);
        await File.WriteAllTextAsync(Path.Combine(project, name + ".cs"), source);

        var output = Path.Combine(folder, "out");
        var build = new ProcessStartInfo("dotnet") { WorkingDirectory = project, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "build", "-v", "q", "-nologo", "-o", output })
        {
            build.ArgumentList.Add(argument);
        }
        using var process = Process.Start(build) ?? throw new InvalidOperationException("dotnet did not start");
        var log = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"the plugin {name} did not build:\n{await log}\n{await errors}");
    }
}
