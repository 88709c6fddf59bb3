using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AgentCorex.Tests.Cluster;

/// <summary>
/// <see cref="PostgreSqlRestartWatch"/> against a database that ends idle sessions (<c>idle_session_timeout</c>, set
/// by an operator for every session of the database): the watch sends nothing, so such a database ends it again and
/// again, and that is no restart of the database. And the time it waits for a second pass of the locks an outage left
/// held, which Npgsql's timed wait must be able to take.
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
        // Long enough that a loaded machine's pause between the watch's connect and its statement does not reach it (a
        // CI run's 300 ms did once, and the database ended the watch before it could say otherwise).
        await ExecuteAsync(cluster.ConnectionString("postgres"), $"ALTER DATABASE {database} SET idle_session_timeout = '1s'");
        var pooled = await cluster.CreateDatabaseAsync(); // no timeout: its pooled connection lives unless a clear closes it
        var pooledBackend = await BackendOfAsync(pooled);
        await using var asyncCommits = new AsyncCommitDataSource(pooled);
        using var watch = new PostgreSqlRestartWatch(
            new StorageConnection(StorageProvider.PostgreSql, watched), new LostConnections(asyncCommits), TimeProvider.System,
            NullLogger<PostgreSqlRestartWatch>.Instance);

        await watch.StartAsync(CancellationToken.None);
        var watchBackends = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(4); // four of the database's idle timeouts
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

    /// <summary>
    /// The watch waits for the second pass with Npgsql's timed wait, which takes whole milliseconds (the rest cut off) and
    /// waits without end for zero: less than a millisecond left, as when the outage began 30 s less a moment before the
    /// clock read, put the pass off for good.
    /// </summary>
    [TestCase(5_000, 1)]
    [TestCase(TimeSpan.TicksPerMillisecond, 1)]
    [TestCase(TimeSpan.TicksPerMillisecond + 1, 2)]
    [TestCase(0, 0)]
    [TestCase(-5_000, 0)]
    public void TheTimeUntilTheSecondPass_IsWholeMillisecondsRoundedUp_SoThatAWaitForItEnds(long ticksLeft, int milliseconds)
    {
        var now = DateTimeOffset.UtcNow;

        var untilTheRest = InterruptedStateChanges.UntilOldEnough(now - InterruptedStateChanges.MinimumAge + TimeSpan.FromTicks(ticksLeft), now);

        Assert.That(untilTheRest, Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));
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
