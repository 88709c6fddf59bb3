using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// Requests a key made in one minute, shared by every node on a server database (the embedded default,
/// one node, counts in memory). A row per key, bucket and minute; rows older than the last minute are deleted.
/// </summary>
public sealed class RateLimitWindow
{
    public required string KeyId { get; init; }

    /// <summary>Which limit the requests count against: "execution" or "api".</summary>
    public required string Bucket { get; init; }

    /// <summary>The window's first second, in Unix minutes (seconds / 60).</summary>
    public required long Minute { get; init; }

    public int Requests { get; set; }
}

internal sealed class RateLimitWindowConfiguration : IEntityTypeConfiguration<RateLimitWindow>
{
    public void Configure(EntityTypeBuilder<RateLimitWindow> window)
    {
        window.ToTable("rate_limit_windows");
        window.HasKey(w => new { w.KeyId, w.Bucket, w.Minute });
        window.Property(w => w.KeyId).HasColumnName("key_id").HasMaxLength(32);
        window.Property(w => w.Bucket).HasColumnName("bucket").HasMaxLength(16);
        window.Property(w => w.Minute).HasColumnName("minute");
        window.Property(w => w.Requests).HasColumnName("requests");
        window.HasIndex(w => w.Minute).HasDatabaseName("ix_rate_limit_windows_minute");
    }
}
