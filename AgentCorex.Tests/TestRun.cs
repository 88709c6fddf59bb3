using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests;

/// <summary>Once per test run: stops the throwaway PostgreSQL cluster if a test started it.</summary>
[SetUpFixture]
public sealed class TestRun
{
    [OneTimeTearDown]
    public Task StopPostgresAsync() => PostgresCluster.StopSharedAsync();
}
