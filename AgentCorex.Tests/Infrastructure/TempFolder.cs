namespace AgentCorex.Tests.Infrastructure;

/// <summary>A folder of its own under the system's temporary folder, deleted with all it holds when disposed.</summary>
public sealed class TempFolder : IDisposable
{
    private TempFolder(string path) => Path = path;

    public string Path { get; }

    /// <param name="prefix">Names the test's folders, so that one left behind says whose it was.</param>
    public static TempFolder Create(string prefix) => new(Directory.CreateTempSubdirectory(prefix).FullName);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
