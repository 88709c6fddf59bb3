using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A database migrated only as far as a given migration (an embedded database file, or a PostgreSQL database):
/// a test puts rows in the schema a later migration finds, migrates the rest of the way, and sees what that
/// migration made of them.
/// </summary>
public sealed class OldDatabase : IAsyncDisposable
{
    private OldDatabase(AgentCorexDb db) => Db = db;

    public AgentCorexDb Db { get; }

    public static async Task<OldDatabase> MigratedToAsync(TempFolder folder, string migration)
    {
        var options = new DbContextOptionsBuilder<AgentCorexDb>().UseSqlite($"Data Source={folder.File("old.db")};Pooling=False").OfOldSchema().Options;
        return await MigratedToAsync(new AgentCorexDb(options), migration);
    }

    public static async Task<OldDatabase> MigratedToAsync(PostgresCluster cluster, string migration)
    {
        var options = new DbContextOptionsBuilder<PostgreSqlAgentCorexDb>().UseNpgsql(await cluster.CreateDatabaseAsync()).OfOldSchema().Options;
        return await MigratedToAsync(new PostgreSqlAgentCorexDb(options), migration);
    }

    private static async Task<OldDatabase> MigratedToAsync(AgentCorexDb db, string migration)
    {
        var old = new OldDatabase(db);
        await old.Db.GetService<IMigrator>().MigrateAsync(migration);
        return old;
    }

    /// <summary>Applies the migrations after the one it was made at, and leaves the connection open for the test's reads.</summary>
    public async Task MigrateTheRestAsync()
    {
        await Db.GetService<IMigrator>().MigrateAsync();
        await Db.Database.OpenConnectionAsync();
    }

    public ValueTask DisposeAsync() => Db.DisposeAsync();
}

internal static class OldSchemaOptions
{
    /// <summary>
    /// A context whose rows have no column added after the migrations these tests stop at (jobs.idempotency_key), so
    /// that EF's inserts fit the old schema; the model then differs from the migrations' snapshot, which is expected here.
    /// </summary>
    public static DbContextOptionsBuilder<T> OfOldSchema<T>(this DbContextOptionsBuilder<T> options) where T : DbContext =>
        options.ReplaceService<IModelCustomizer, OldSchemaModelCustomizer>()
            .ConfigureWarnings(warnings => warnings.Ignore(RelationalEventId.PendingModelChangesWarning));
}

internal sealed class OldSchemaModelCustomizer(ModelCustomizerDependencies dependencies) : ModelCustomizer(dependencies)
{
    public override void Customize(ModelBuilder modelBuilder, DbContext context)
    {
        base.Customize(modelBuilder, context);
        modelBuilder.Entity<AgentCorex.Web.Jobs.JobEntry>().Ignore(j => j.IdempotencyKey);
    }
}
