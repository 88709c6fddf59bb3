using System.Data.Common;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Storage;

/// <summary>
/// Applies pending migrations before the server takes requests. On a server database the nodes of a cluster
/// migrate one at a time, under a lock of their own: EF Core's migration lock did not keep two nodes' first
/// starts on an empty PostgreSQL database apart (both created the same table, and one died of it).
/// </summary>
internal sealed partial class StorageInitializer(IServiceScopeFactory scopes, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        if (db.Database.IsSqlite())
        {
            // WAL lets readers go on while one writer commits: the embedded default serves many requests at once.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        await using var migrating = await ClusterLockAsync(db, cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            LogMigrating(logger, pending.Count, string.Join(", ", pending));
            await db.Database.MigrateAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// A session lock on an unpooled connection of its own, so that closing it ends the session and the lock
    /// with it, on success, failure or crash alike; none for the embedded database (one process).
    /// </summary>
    private static async Task<DbConnection?> ClusterLockAsync(AgentCorexDb db, CancellationToken cancellationToken)
    {
        DbConnection connection;
        string take;
        if (db.Database.IsNpgsql())
        {
            connection = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(db.Database.GetConnectionString()) { Pooling = false }.ConnectionString);
            take = $"SELECT pg_advisory_lock({DatabaseLocks.SchemaClass}, {DatabaseLocks.AgentCorexSchema})";
        }
        else if (db.Database.IsSqlServer())
        {
            connection = new Microsoft.Data.SqlClient.SqlConnection(
                new Microsoft.Data.SqlClient.SqlConnectionStringBuilder(db.Database.GetConnectionString()) { Pooling = false }.ConnectionString);
            take = $"EXEC sp_getapplock @Resource = '{DatabaseLocks.SqlServerMigrations}', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = -1";
        }
        else
        {
            return null;
        }
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = take;
        command.CommandTimeout = 0; // as long as the other node's migrations take
        await command.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} database migration(s): {Migrations}")]
    private static partial void LogMigrating(ILogger logger, int count, string migrations);
}
