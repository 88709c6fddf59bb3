using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// A direct execution (POST /execute_tool) holding one of its key's slots, as a cluster records it so that
/// every node counts it. Should its node die, the row stops counting once it expires (its deadline plus a grace).
/// </summary>
public sealed class DirectExecution
{
    public required string Id { get; init; }

    public required string KeyId { get; init; }

    public required DateTime ExpiresAt { get; init; }
}

internal sealed class DirectExecutionConfiguration : IEntityTypeConfiguration<DirectExecution>
{
    public void Configure(EntityTypeBuilder<DirectExecution> execution)
    {
        execution.ToTable("direct_executions");
        execution.HasKey(e => e.Id);
        execution.Property(e => e.Id).HasColumnName("execution_id").HasMaxLength(32);
        execution.Property(e => e.KeyId).HasColumnName("key_id").HasMaxLength(32);
        execution.Property(e => e.ExpiresAt).HasColumnName("expires_at");
        execution.HasIndex(e => new { e.KeyId, e.ExpiresAt }).HasDatabaseName("ix_direct_executions_key_expires");
    }
}
