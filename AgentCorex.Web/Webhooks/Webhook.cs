using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Webhooks;

/// <summary>A registered webhook. It belongs to the key that registered it and hears only that key's jobs.</summary>
public sealed class Webhook
{
    public required string Id { get; init; }

    public required string OwnerKeyId { get; init; }

    public required string Url { get; init; }

    /// <summary>The subscribed event names, comma-separated, in the order the client gave them.</summary>
    public required string Events { get; init; }

    /// <summary>The signing secret, protected with ASP.NET Core Data Protection (its key ring is in this database).</summary>
    public required string ProtectedSecret { get; init; }

    public required DateTime CreatedAt { get; init; }

    /// <summary>When a receiver answered 410 Gone; a disabled webhook gets no more deliveries.</summary>
    public DateTime? DisabledAt { get; init; }

    public IReadOnlyList<string> EventNames => Events.Split(',');
}

internal sealed class WebhookConfiguration : IEntityTypeConfiguration<Webhook>
{
    public void Configure(EntityTypeBuilder<Webhook> webhook)
    {
        webhook.ToTable("webhooks");
        webhook.HasKey(w => w.Id);
        webhook.Property(w => w.Id).HasColumnName("webhook_id").HasMaxLength(32);
        webhook.Property(w => w.OwnerKeyId).HasColumnName("owner_key_id").HasMaxLength(32);
        webhook.Property(w => w.Url).HasColumnName("url").HasMaxLength(WebhookRules.MaxUrlLength);
        webhook.Property(w => w.Events).HasColumnName("events").HasMaxLength(200);
        webhook.Property(w => w.ProtectedSecret).HasColumnName("secret_protected");
        webhook.Property(w => w.CreatedAt).HasColumnName("created_at");
        webhook.Property(w => w.DisabledAt).HasColumnName("disabled_at");
        webhook.Ignore(w => w.EventNames);
        webhook.HasIndex(w => new { w.OwnerKeyId, w.CreatedAt }).HasDatabaseName("ix_webhooks_owner_created");
    }
}
