using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCorex.Tests.Cluster;

/// <summary>
/// A database whose idle_session_timeout ends sessions before the node's pools close their idle connections fails
/// requests with 503 (README, Storage): the start says so once, with what to set; a pool that closes them first, or a
/// database with no timeout, draws no warning.
/// </summary>
public sealed class IdleSessionTimeoutTests
{
    private const string Warning = "PostgreSQL ends sessions idle for";

    [Test]
    public async Task Start_OnADatabaseThatEndsIdleSessionsBeforeThePoolDoes_WarnsWithWhatToSet()
    {
        var lines = await StartAndLogAsync(idleSessionTimeout: "30s", connectionSuffix: "");

        Assert.That(lines.Where(l => l.Contains(Warning)).ToList(), Has.Count.EqualTo(1).And.Some.Contain("idle for 30000 ms")
            .And.Some.Contain("Connection Idle Lifetime 300 s plus Connection Pruning Interval 10 s"));
    }

    [Test]
    public async Task Start_WithAPoolThatClosesIdleConnectionsFirst_OrNoTimeout_DoesNotWarn()
    {
        var closedFirst = await StartAndLogAsync(idleSessionTimeout: "30s", connectionSuffix: ";Connection Idle Lifetime=10;Connection Pruning Interval=5");
        var noTimeout = await StartAndLogAsync(idleSessionTimeout: null, connectionSuffix: "");

        Assert.Multiple(() =>
        {
            Assert.That(closedFirst, Has.None.Contain(Warning));
            Assert.That(noTimeout, Has.None.Contain(Warning));
            Assert.That(noTimeout, Is.Not.Empty, "the logs were captured");
        });
    }

    private static async Task<IReadOnlyCollection<string>> StartAndLogAsync(string? idleSessionTimeout, string connectionSuffix)
    {
        var cluster = await PostgresCluster.RequireAsync();
        var connectionString = await cluster.CreateDatabaseAsync();
        if (idleSessionTimeout is not null)
        {
            var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
            await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres"));
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"ALTER DATABASE {database} SET idle_session_timeout = '{idleSessionTimeout}'", connection);
            await command.ExecuteNonQueryAsync();
        }
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:AgentCorex"] = connectionString + connectionSuffix,
        });
        using var logged = app.WithWebHostBuilder(host => host
            .UseSetting("Logging:LogLevel:AgentCorex", "Information")
            .ConfigureLogging(logging => logging.AddProvider(logs)));
        using var client = logged.CreateClient(); // the start, its migrations and its check
        return logs.Lines;
    }
}
