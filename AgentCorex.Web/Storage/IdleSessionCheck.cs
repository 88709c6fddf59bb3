using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AgentCorex.Web.Storage;

/// <summary>
/// A PostgreSQL database (or role) whose <c>idle_session_timeout</c> ends sessions sooner than this node's pools close
/// their idle connections (Npgsql's Connection Idle Lifetime plus its Connection Pruning Interval): each connection the
/// database ended fails the request that takes it next, with 503, and nothing else tells the operator why (seen by
/// hand: at 2 s, 7 requests of 12 made 3.5 s apart). Said once, at start, with what to set.
/// </summary>
internal static partial class IdleSessionCheck
{
    public static async Task WarnIfSessionsEndSoonerAsync(AgentCorexDb db, string connectionString, ILogger logger, CancellationToken cancellationToken)
    {
        // pg_settings reads the session's value, the database's and the role's settings applied; no row before PostgreSQL 14.
        var timeoutMs = await db.Database
            .SqlQueryRaw<long>("SELECT setting::bigint AS \"Value\" FROM pg_settings WHERE name = 'idle_session_timeout'")
            .SingleOrDefaultAsync(cancellationToken);
        var pool = new NpgsqlConnectionStringBuilder(connectionString);
        var closedAfterSeconds = pool.ConnectionIdleLifetime + pool.ConnectionPruningInterval;
        if (timeoutMs > 0 && pool.Pooling && timeoutMs <= closedAfterSeconds * 1000L)
        {
            LogSessionsEndSooner(logger, timeoutMs, pool.ConnectionIdleLifetime, pool.ConnectionPruningInterval);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL ends sessions idle for {TimeoutMs} ms (idle_session_timeout), before this node's pools close "
        + "their idle connections (Connection Idle Lifetime {Lifetime} s plus Connection Pruning Interval {Pruning} s): a request that takes a connection "
        + "the database ended will answer 503. Put their sum below the timeout in the connection string, or raise or turn off idle_session_timeout "
        + "for this database and role (README, Storage)")]
    private static partial void LogSessionsEndSooner(ILogger logger, long timeoutMs, int lifetime, int pruning);
}
