using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AgentCorex.Web.Storage;

// Used only by `dotnet ef migrations add --context ...`: migrations are generated from the model without a
// database, so the connection strings here are placeholders that are never opened.
// IDesignTimeDbContextFactory<out T> is covariant, so `--context AgentCorexDb` (the embedded SQLite migrations)
// also finds these factories and generates PostgreSQL or SQL Server code: generate those with this file set aside.

internal sealed class PostgreSqlDesignTimeFactory : IDesignTimeDbContextFactory<PostgreSqlAgentCorexDb>
{
    public PostgreSqlAgentCorexDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgreSqlAgentCorexDb>().UseNpgsql("Host=localhost;Database=agentcorex").Options);
}

internal sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerAgentCorexDb>
{
    public SqlServerAgentCorexDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqlServerAgentCorexDb>().UseSqlServer("Server=localhost;Database=agentcorex").Options);
}
