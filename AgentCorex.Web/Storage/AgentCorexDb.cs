using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Storage;

/// <summary>The app's own tables (Hangfire keeps its own beside them). Names are snake_case for SQL reporting.</summary>
public sealed class AgentCorexDb(DbContextOptions<AgentCorexDb> options) : DbContext(options)
{
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<JobEntry> Jobs => Set<JobEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(AgentCorexDb).Assembly);
}
