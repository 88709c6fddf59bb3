using System.Data.Common;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace AgentCorex.Web.Storage;

/// <summary>
/// PostgreSQL connections that a restart of the database killed while they sat idle in a pool. Npgsql learns of it
/// only at a connection's next use, which fails ("57P01: terminating connection due to administrator command", or a
/// closed socket), and it clears no pool for it (npgsql#5073): each such connection failed one request with
/// 503 DATABASE_UNAVAILABLE although the database was back, and the pool of the rate limit's counts, used only by
/// requests, kept them for minutes (found by a two-node audit). So the first lost connection seen clears every pool of
/// the node: the ledger's (EF Core's, whose failed commands this interceptor sees), Hangfire's and the counts'
/// (<see cref="AsyncCommitDataSource"/>). <see cref="PostgreSqlPoolWatch"/> finds one within a second of a restart; a
/// short statement that meets one first tries once more on a new connection (<see cref="RetryOnceAsync{T}"/>).
/// </summary>
public sealed class LostConnections(AsyncCommitDataSource asyncCommits) : DbCommandInterceptor
{
    /// <summary>Whether <paramref name="exception"/> says its connection was closed under it, by the server or the network.</summary>
    public static bool IsLost(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException { SqlState: PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow }:
                case NpgsqlException { InnerException: IOException or SocketException or EndOfStreamException }:
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Closes every idle connection of this node's pools; those in use are closed when given back. Npgsql's
    /// ClearAllPools reaches every pool made from a connection string (the ledger's, which EF Core opens from one, and
    /// Hangfire's); the counts' data source is cleared by name.
    /// </summary>
    public void ClearPools()
    {
        NpgsqlConnection.ClearAllPools();
        asyncCommits.Source.Clear();
    }

    /// <summary>Clears the pools if <paramref name="exception"/> is a lost connection's; always false, to use in an exception filter.</summary>
    public bool ClearIfLost(Exception exception)
    {
        if (IsLost(exception))
        {
            ClearPools();
        }
        return false;
    }

    /// <summary>
    /// Runs <paramref name="statement"/>, and once more on a new connection if its connection was lost: for a statement
    /// whose second run does no harm where the first reached the database after all (a count of requests, a probe).
    /// </summary>
    public async Task<T> RetryOnceAsync<T>(Func<Task<T>> statement)
    {
        try
        {
            return await statement();
        }
        catch (Exception e) when (IsLost(e))
        {
            ClearPools();
            return await statement();
        }
    }

    public override void CommandFailed(DbCommand command, CommandErrorEventData eventData) => ClearIfLost(eventData.Exception);

    public override Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        ClearIfLost(eventData.Exception);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Every second, one short statement on each of this node's PostgreSQL pools (the ledger's and the counts'): after a
/// restart of the database the first one meets a lost connection and <see cref="LostConnections"/> clears the pools,
/// before a request meets one. Two statements a second per node; an outage fails them quietly (requests report it).
/// </summary>
internal sealed class PostgreSqlPoolWatch(IServiceScopeFactory scopes, AsyncCommitDataSource asyncCommits, LostConnections lost, TimeProvider time)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await using (var scope = scopes.CreateAsyncScope())
                {
                    await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.ExecuteSqlRawAsync("SELECT 1", stoppingToken);
                }
                await using var probe = asyncCommits.Source.CreateCommand("SELECT 1");
                await probe.ExecuteScalarAsync(stoppingToken);
            }
            catch (Exception e) when (lost.ClearIfLost(e))
            {
            }
            catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException
                || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
            {
                // The database is away or slow: requests answer 503 and say so; nothing to add every second.
            }
        }
    }
}
