using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Storage;

/// <summary>
/// What the nodes of a cluster do at start one at a time (migrations, the bootstrap admin key): a session lock
/// on an unpooled connection of its own, so that closing it ends the session and the lock with it, on success,
/// failure or crash alike. None for the embedded database, which one process serves.
/// </summary>
internal static class ClusterLock
{
    /// <param name="postgreSqlKey">The second part of the advisory lock key, after <see cref="DatabaseLocks.SchemaClass"/>.</param>
    /// <param name="sqlServerResource">The application lock's name.</param>
    /// <returns>The connection holding the lock, to dispose when done; null for the embedded database.</returns>
    public static async Task<DbConnection?> TakeAsync(AgentCorexDb db, int postgreSqlKey, string sqlServerResource, CancellationToken cancellationToken)
    {
        DbConnection connection;
        string take;
        if (db.Database.IsNpgsql())
        {
            connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(db.Database.GetConnectionString()) { Pooling = false }.ConnectionString);
            take = $"SELECT pg_advisory_lock({DatabaseLocks.SchemaClass}, {postgreSqlKey})";
        }
        else if (db.Database.IsSqlServer())
        {
            connection = new Microsoft.Data.SqlClient.SqlConnection(
                new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(db.Database.GetConnectionString()) { Pooling = false }.ConnectionString);
            take = $"EXEC sp_getapplock @Resource = '{sqlServerResource}', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = -1";
        }
        else
        {
            return null;
        }
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = take;
        command.CommandTimeout = 0; // as long as the other node takes
        await command.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }
}
