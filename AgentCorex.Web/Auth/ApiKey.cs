using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Auth;

/// <summary>A stored API key. Only a hash of its secret is kept; the key itself is shown once, at creation.</summary>
public sealed class ApiKey
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string Plan { get; set; }

    public required bool IsAdmin { get; init; }

    public required byte[] SecretHash { get; init; }

    public required DateTime CreatedAt { get; init; }

    public DateTime? RevokedAt { get; set; }

    /// <summary>This key's own limit of execution requests per minute, instead of its plan's.</summary>
    public int? RequestsPerMinute { get; set; }

    /// <summary>This key's own limit of tool executions running at once, instead of its plan's.</summary>
    public int? MaxConcurrent { get; set; }

    /// <summary>This key has no limit of requests per minute, whatever its plan's (RequestsPerMinute is then null).</summary>
    public bool RequestsPerMinuteUnlimited { get; set; }

    /// <summary>This key has no limit of tool executions at once, whatever its plan's (MaxConcurrent is then null).</summary>
    public bool MaxConcurrentUnlimited { get; set; }

    public ApiKeyIdentity ToIdentity() =>
        new(Id, Name, Plan, IsAdmin, RequestsPerMinute, MaxConcurrent, RequestsPerMinuteUnlimited, MaxConcurrentUnlimited);
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> key)
    {
        key.ToTable("api_keys");
        key.HasKey(k => k.Id);
        key.Property(k => k.Id).HasColumnName("key_id").HasMaxLength(32);
        key.Property(k => k.Name).HasColumnName("name").HasMaxLength(ApiKeyRules.MaxNameLength);
        key.Property(k => k.Plan).HasColumnName("plan").HasMaxLength(32);
        key.Property(k => k.IsAdmin).HasColumnName("is_admin");
        key.Property(k => k.SecretHash).HasColumnName("secret_hash").HasMaxLength(32);
        key.Property(k => k.CreatedAt).HasColumnName("created_at");
        key.Property(k => k.RevokedAt).HasColumnName("revoked_at");
        key.Property(k => k.RequestsPerMinute).HasColumnName("requests_per_minute");
        key.Property(k => k.MaxConcurrent).HasColumnName("max_concurrent");
        // Beside the limits, whose null is the plan's: true is no limit at all (the limit then null).
        key.Property(k => k.RequestsPerMinuteUnlimited).HasColumnName("requests_per_minute_unlimited");
        key.Property(k => k.MaxConcurrentUnlimited).HasColumnName("max_concurrent_unlimited");
        // GET /api_keys's order (ApiKeyListing): a page is read from it, not sorted out of every key.
        key.HasIndex(k => new { k.CreatedAt, k.Id }).HasDatabaseName("ix_api_keys_created");
    }
}
