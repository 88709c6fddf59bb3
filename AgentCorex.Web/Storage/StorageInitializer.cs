using System.Data.Common;
using AgentCorex.Web.Api;
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
        }
        await using var migrating = await ClusterLock.TakeAsync(db, DatabaseLocks.AgentCorexSchema, DatabaseLocks.SqlServerMigrations, cancellationToken);
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
        if (pending.Count > 0)
        {
            LogMigrating(logger, pending.Count, string.Join(", ", pending));
            await db.Database.MigrateAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Applying {Count} database migration(s): {Migrations}")]
    private static partial void LogMigrating(ILogger logger, int count, string migrations);
}
