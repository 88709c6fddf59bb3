namespace AgentCorex.Tests.Reporting;

/// <summary>The SQL files under reporting/, read from the repository the tests were built from.</summary>
internal static class ReportingScripts
{
    public static string Views(string provider) =>
        File.ReadAllText(Path.Combine(RepositoryRoot(), "reporting", provider, "views.sql"));

    private static string RepositoryRoot()
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
}
