using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// One event to send to one webhook. Its id is the Standard Webhooks <c>webhook-id</c>, and its payload is
/// stored as sent, so every retry carries the same id and the same bytes.
/// </summary>
public sealed class WebhookDelivery
{
    public required string Id { get; init; }

    public required string WebhookId { get; init; }

    public required string Event { get; init; }

    public required string JobId { get; init; }

    /// <summary>The request body, JSON.</summary>
    public required string Payload { get; init; }

    public required string Status { get; set; }

    /// <summary>The attempts made so far.</summary>
    public int Attempts { get; set; }

    public required DateTime CreatedAt { get; init; }

    /// <summary>When the next attempt is due, while the delivery is pending.</summary>
    public DateTime? NextAttemptAt { get; set; }

    /// <summary>Set while an attempt is being made: until then no other run of a delivery job may send it.</summary>
    public DateTime? InFlightUntil { get; set; }
}

/// <summary>A delivery's state: pending until it is delivered (a 2xx answer) or has failed for good.</summary>
public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
}

internal sealed class WebhookDeliveryConfiguration : IEntityTypeConfiguration<WebhookDelivery>
{
    public void Configure(EntityTypeBuilder<WebhookDelivery> delivery)
    {
        delivery.ToTable("webhook_deliveries");
        delivery.HasKey(d => d.Id);
        delivery.Property(d => d.Id).HasColumnName("delivery_id").HasMaxLength(32);
        delivery.Property(d => d.WebhookId).HasColumnName("webhook_id").HasMaxLength(32);
        delivery.Property(d => d.Event).HasColumnName("event").HasMaxLength(32);
        delivery.Property(d => d.JobId).HasColumnName("job_id").HasMaxLength(32);
        delivery.Property(d => d.Payload).HasColumnName("payload");
        delivery.Property(d => d.Status).HasColumnName("status").HasMaxLength(16);
        delivery.Property(d => d.Attempts).HasColumnName("attempts");
        delivery.Property(d => d.CreatedAt).HasColumnName("created_at");
        delivery.Property(d => d.NextAttemptAt).HasColumnName("next_attempt_at");
        delivery.Property(d => d.InFlightUntil).HasColumnName("in_flight_until");

        // Deleting a webhook deletes its log; a delivery job that finds its row gone stops.
        delivery.HasOne<Webhook>().WithMany().HasForeignKey(d => d.WebhookId).OnDelete(DeleteBehavior.Cascade);
        delivery.HasIndex(d => new { d.WebhookId, d.CreatedAt }).HasDatabaseName("ix_webhook_deliveries_webhook_created");
        delivery.HasIndex(d => new { d.Status, d.NextAttemptAt }).HasDatabaseName("ix_webhook_deliveries_status_next");
        delivery.HasIndex(d => d.CreatedAt).HasDatabaseName("ix_webhook_deliveries_created");
    }
}
