using System.Data.Common;
using AgentCorex.Web.Api;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Storage;

/// <summary>
/// Applies pending migrations before the server takes requests. On a server database the nodes of a cluster
/// migrate one at a time, under a lock of their own: EF Core's migration lock did not keep two nodes' first
/// starts on an empty PostgreSQL database apart (both created the same table, and one died of it).
/// </summary>
internal sealed partial class StorageInitializer(IServiceScopeFactory scopes, StorageConnection storage, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await MigrateAsync(cancellationToken);
        }
        catch (DbException e)
        {
            throw new StartupRefusedException($"the database cannot be opened or brought up to date: {e.Message}", e);
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        if (db.Database.IsSqlite())
        {
            // WAL lets readers go on while one writer commits: the embedded default serves many requests at once.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            await ReleaseStaleMigrationLockAsync(db, cancellationToken);
        }
        await using var migrating = await ClusterLock.TakeAsync(db, DatabaseLocks.AgentCorexSchema, DatabaseLocks.SqlServerMigrations, cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            LogMigrating(logger, pending.Count, string.Join(", ", pending));
            await db.Database.MigrateAsync(cancellationToken);
        }
        if (db.Database.IsNpgsql())
        {
            await IdleSessionCheck.WarnIfSessionsEndSoonerAsync(db, storage.ConnectionString, logger, cancellationToken);
        }
    }

    /// <summary>
    /// EF Core's migration lock on SQLite is a row in __EFMigrationsLock, which a process killed while it migrated (a
    /// kill -9 during the first start, or the first start after an upgrade) leaves behind: every later start then waits
    /// for it for ever, saying nothing, and the jobs the ledger holds never run. This process holds the embedded
    /// database's file (<see cref="EmbeddedDatabaseLock"/>, taken before any hosted service starts), so no other one can
    /// be migrating it: a row there is a dead process's.
    /// </summary>
    private async Task ReleaseStaleMigrationLockAsync(AgentCorexDb db, CancellationToken cancellationToken)
    {
        var locked = await db.Database
            .SqlQueryRaw<int>($"SELECT count(*) AS \"Value\" FROM sqlite_master WHERE type = 'table' AND name = '{MigrationLockTable}'")
            .SingleAsync(cancellationToken) > 0;
        if (locked && await db.Database.ExecuteSqlRawAsync($"DELETE FROM \"{MigrationLockTable}\"", cancellationToken) > 0)
        {
            LogStaleMigrationLock(logger);
        }
    }

    private const string MigrationLockTable = "__EFMigrationsLock";

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "A start killed while it migrated the embedded database left EF Core's migration lock behind: released")]
    private static partial void LogStaleMigrationLock(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} database migration(s): {Migrations}")]
    private static partial void LogMigrating(ILogger logger, int count, string migrations);
}
