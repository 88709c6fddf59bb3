using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Webhooks;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Storage;

/// <summary>
/// The app's own tables (Hangfire keeps its own beside them). Names are snake_case for SQL reporting.
/// This type carries the embedded (SQLite) migrations; each server database has a subclass of its own,
/// because EF Core keeps one migration history per context type and the SQL differs per database.
/// </summary>
public class AgentCorexDb : DbContext, IDataProtectionKeyContext
{
    public AgentCorexDb(DbContextOptions<AgentCorexDb> options) : base(options)
    {
    }

    protected AgentCorexDb(DbContextOptions options) : base(options)
    {
    }

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<JobEntry> Jobs => Set<JobEntry>();

    public DbSet<Webhook> Webhooks => Set<Webhook>();

    public DbSet<RateLimits.RateLimitWindow> RateLimitWindows => Set<RateLimits.RateLimitWindow>();

    public DbSet<Concurrency.DirectExecution> DirectExecutions => Set<Concurrency.DirectExecution>();

    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();

    public DbSet<WebhookAttempt> WebhookAttempts => Set<WebhookAttempt>();

    public DbSet<Dashboard.DashboardSession> DashboardSessions => Set<Dashboard.DashboardSession>();

    /// <summary>The Data Protection key ring, shared by every node on this database (it protects webhook secrets).</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AgentCorexDb).Assembly);
}

/// <summary>The app's tables on PostgreSQL, with their own migrations (Storage/Migrations/PostgreSql).</summary>
public sealed class PostgreSqlAgentCorexDb(DbContextOptions<PostgreSqlAgentCorexDb> options) : AgentCorexDb(options);

/// <summary>The app's tables on SQL Server, with their own migrations (Storage/Migrations/SqlServer).</summary>
public sealed class SqlServerAgentCorexDb(DbContextOptions<SqlServerAgentCorexDb> options) : AgentCorexDb(options)
{
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.Entity<JobEntry>().HasIndex(j => new { j.Status, j.CompletedAt, j.Id, j.ErrorCode }, JobEntryConfiguration.EndedIndex)
            .HasFilter(JobEntryConfiguration.EndedFilter(inList: true));
        // Compared byte for byte, as on SQLite and PostgreSQL: a database's default collation is often case-insensitive,
        // and would answer the key "ABC" the job of "abc".
        modelBuilder.Entity<JobEntry>().Property(j => j.IdempotencyKey).UseCollation("Latin1_General_100_BIN2");
    }
}
