using System.Data.Common;
using System.Net.Sockets;
using AgentCorex.Web.Api;
using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace AgentCorex.Web.Storage;

/// <summary>
/// PostgreSQL connections that a restart of the database killed while they sat idle in a pool. Npgsql learns of it
/// only at a connection's next use, which fails ("57P01: terminating connection due to administrator command", or a
/// closed socket), and clears only that connection's own pool for it: each such connection failed one request with
/// 503 DATABASE_UNAVAILABLE although the database was back (found by a two-node audit, and by a real restart between two
/// passes of the one-second watch that came before <see cref="PostgreSqlRestartWatch"/>). So every pool of the node is
/// cleared at once: the ledger's (EF Core's, whose failed commands this interceptor sees), Hangfire's and the counts'
/// (<see cref="AsyncCommitDataSource"/>), by <see cref="PostgreSqlRestartWatch"/> as the server goes down, and by the
/// first lost connection any statement meets.
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
    /// Runs <paramref name="statement"/>, and once more on a new connection if its connection was lost: only for a
    /// statement that changes nothing (the readiness probe), whose second run does no harm where the first reached the
    /// database after all. A write is never run again: it may have committed before its answer was lost.
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
/// One connection of the node's own to PostgreSQL, outside every pool, that waits on the server and sends nothing. A
/// restart of the database ends it together with every connection idle in the node's pools (a fast shutdown ends every
/// session, a crash every backend), so its read returns as the server goes down, and the pools are emptied then
/// (<see cref="LostConnections.ClearPools"/>), before the server is back. Npgsql cannot tell whether a statement that
/// met a dead connection reached the server (the failure is a read after a write that succeeded), so a request that
/// met one could not be safely run again; with the pools emptied first, none meets one. It connects again every
/// <see cref="ReconnectPause"/> until the server is back; Npgsql's keepalive on it (a Sync message each
/// <see cref="KeepAliveSeconds"/> s) finds a connection a network failure left open but dead. Once it connects again
/// after losing the server, it releases the job state locks the outage left held (<see cref="InterruptedStateChanges"/>),
/// those too recent to be sure of in a second pass.
/// </summary>
internal sealed class PostgreSqlRestartWatch(
    StorageConnection storage, LostConnections lost, TimeProvider time, ILogger<PostgreSqlRestartWatch> logger) : BackgroundLoop
{
    public static readonly TimeSpan ReconnectPause = TimeSpan.FromMilliseconds(250);
    public const int KeepAliveSeconds = 10;

    /// <summary>Its name in pg_stat_activity, so that an operator can tell it from the pools' connections (and leave it).</summary>
    public const string ApplicationName = "AgentCorex restart watch";

    /// <summary>When the watch last lost the server, until it connects again and releases the locks that outage left held.</summary>
    private DateTimeOffset? outageBegan;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watching = new NpgsqlConnectionStringBuilder(storage.ConnectionString)
        {
            Pooling = false,
            KeepAlive = KeepAliveSeconds,
            ApplicationName = ApplicationName,
        }.ConnectionString;
        while (true) // until a stop cancels its wait: a quiet end (BackgroundLoop)
        {
            await WatchAsync(watching, stoppingToken);
            outageBegan ??= time.GetUtcNow(); // the watch ended, or could not connect: the server is away
            await Task.Delay(ReconnectPause, time, stoppingToken);
        }
    }

    private async Task WatchAsync(string watching, CancellationToken stoppingToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(watching);
            await connection.OpenAsync(stoppingToken);
            await KeepOpenWhileIdleAsync(connection, stoppingToken);
            if (outageBegan is { } began)
            {
                // Cleared first: losing the server again (the release cut off too) begins a later outage, whose
                // release at the next connect takes this one's locks with its own.
                outageBegan = null;
                TimeSpan untilTheRest;
                while ((untilTheRest = await InterruptedStateChanges.ReleaseAsync(connection, began, time.GetUtcNow(), logger, stoppingToken)) > TimeSpan.Zero)
                {
                    // Locks taken shortly before the outage may be live state changes' yet: released in a second pass
                    // once old enough, the connection watched meanwhile (Npgsql's timed wait leaves it usable).
                    await connection.WaitAsync(untilTheRest, stoppingToken);
                }
            }
            await connection.WaitAsync(stoppingToken); // nothing is sent to it: it returns as the server ends it
        }
        catch (Exception e) when (lost.ClearIfLost(e))
        {
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or TimeoutException
            || (e is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            // The database is away: requests answer 503 and say so; nothing to add on every try.
        }
    }

    /// <summary>
    /// A database whose operator ends idle sessions (<c>idle_session_timeout</c> shorter than the keepalive's 10 s)
    /// ended the watch again and again: no restart (57P05, the pools were kept), but a new connection each time, and
    /// nothing watched until it was made. <c>idle_in_transaction_session_timeout</c> never applies: the watch opens no
    /// transaction. A statement, not the connection's startup options, which a PostgreSQL before 14 (that has no such
    /// setting) would refuse, and the watch would never connect.
    /// </summary>
    private static async Task KeepOpenWhileIdleAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (connection.PostgreSqlVersion.Major >= 14)
        {
            await using var command = new NpgsqlCommand("SET idle_session_timeout = 0", connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
