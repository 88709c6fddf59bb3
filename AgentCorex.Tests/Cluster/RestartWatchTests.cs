using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentCorex.Tests.Cluster;

/// <summary>
/// <see cref="PostgreSqlRestartWatch"/> against a database that ends idle sessions (<c>idle_session_timeout</c>, set
/// by an operator for every session of the database): the watch sends nothing, so such a database ends it again and
/// again, and that is no restart of the database.
/// </summary>
[NonParallelizable] // the watch may clear every pool of the process, which is what it looks for
public sealed class RestartWatchTests
{
    [Test]
    public async Task ADatabaseThatEndsIdleSessions_NeitherEndsTheWatch_NorEmptiesThePools()
    {
        var cluster = await PostgresCluster.RequireAsync();
        var watched = await cluster.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(watched).Database!;
        await ExecuteAsync(cluster.ConnectionString("postgres"), $"ALTER DATABASE {database} SET idle_session_timeout = '300ms'");
        var pooled = await cluster.CreateDatabaseAsync(); // no timeout: its pooled connection lives unless a clear closes it
        var pooledBackend = await BackendOfAsync(pooled);
        await using var asyncCommits = new AsyncCommitDataSource(pooled);
        using var watch = new PostgreSqlRestartWatch(
            new StorageConnection(StorageProvider.PostgreSql, watched), new LostConnections(asyncCommits), TimeProvider.System,
            NullLogger<PostgreSqlRestartWatch>.Instance);

        await watch.StartAsync(CancellationToken.None);
        var watchBackends = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(3); // ten of the database's idle timeouts
        while (DateTime.UtcNow < deadline)
        {
            watchBackends.UnionWith(await SessionsOfAsync(cluster, database));
            await Task.Delay(50);
        }
        await watch.StopAsync(CancellationToken.None);
        var pooledBackendAfter = await BackendOfAsync(pooled);

        Assert.Multiple(() =>
        {
            Assert.That(watchBackends, Has.Count.EqualTo(1), "the watch's one session, never ended by the database");
            Assert.That(pooledBackendAfter, Is.EqualTo(pooledBackend), "the pooled connection, not closed by a clear of the pools");
        });
    }

    private static async Task<int> BackendOfAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<List<int>> SessionsOfAsync(PostgresCluster cluster, string database)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE datname = @database", connection);
        command.Parameters.AddWithValue("database", database);
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }
        return pids;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
