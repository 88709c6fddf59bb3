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

    public ApiKeyIdentity ToIdentity() => new(Id, Name, Plan, IsAdmin, RequestsPerMinute, MaxConcurrent);
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
        // GET /api_keys's order (ApiKeyListing): a page is read from it, not sorted out of every key.
        key.HasIndex(k => new { k.CreatedAt, k.Id }).HasDatabaseName("ix_api_keys_created");
    }
}
