using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Dashboard;

/// <summary>
/// A login session of the dashboard, as every node sharing the database sees it: a session cookie opens the
/// dashboard only while its row is here, so that logging out (deleting the row) ends it on every node and across
/// restarts, not only in the browser that logged out.
/// </summary>
public sealed class DashboardSession
{
    /// <summary>Random; the cookie carries it inside Data Protection, so the id alone opens nothing.</summary>
    public required string Id { get; init; }

    /// <summary>The key that opened it: which sessions a key has, for an operator reading the table.</summary>
    public required string KeyId { get; init; }

    public required DateTime CreatedAt { get; init; }

    public required DateTime ExpiresAt { get; init; }
}

internal sealed class DashboardSessionConfiguration : IEntityTypeConfiguration<DashboardSession>
{
    public void Configure(EntityTypeBuilder<DashboardSession> session)
    {
        session.ToTable("dashboard_sessions");
        session.HasKey(s => s.Id);
        session.Property(s => s.Id).HasColumnName("session_id").HasMaxLength(32);
        session.Property(s => s.KeyId).HasColumnName("key_id").HasMaxLength(32);
        session.Property(s => s.CreatedAt).HasColumnName("created_at");
        session.Property(s => s.ExpiresAt).HasColumnName("expires_at");
    }
}
