namespace AgentCorex.Tests.Infrastructure;

/// <summary>Files of the repository the tests were built from (README.md, appsettings.json, reporting/...).</summary>
internal static class RepositoryFiles
{
    public static string Root()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "AgentCorex.sln")))
            {
                return folder.FullName;
            }
        }
        throw new DirectoryNotFoundException($"No folder above {AppContext.BaseDirectory} holds AgentCorex.sln.");
    }

    public static string Read(params string[] path) => File.ReadAllText(Path.Combine([Root(), .. path]));
}
