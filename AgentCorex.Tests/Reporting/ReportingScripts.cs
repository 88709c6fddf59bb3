using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Reporting;

/// <summary>The SQL files under reporting/, read from the repository the tests were built from.</summary>
internal static class ReportingScripts
{
    public static string Views(string provider) => RepositoryFiles.Read("reporting", provider, "views.sql");
}
