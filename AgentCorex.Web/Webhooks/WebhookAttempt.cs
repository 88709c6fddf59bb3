using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Webhooks;

/// <summary>One HTTP request of a delivery, as the delivery log shows it.</summary>
public sealed class WebhookAttempt
{
    public required string DeliveryId { get; init; }

    public required int Attempt { get; init; }

    /// <summary>The receiver's status code; null when no response came (timeout, connection error, refused address).</summary>
    public int? StatusCode { get; init; }

    public required long DurationMs { get; init; }

    public string? Error { get; init; }

    public required DateTime AttemptedAt { get; init; }
}

internal sealed class WebhookAttemptConfiguration : IEntityTypeConfiguration<WebhookAttempt>
{
    public const int MaxErrorLength = 500;

    public void Configure(EntityTypeBuilder<WebhookAttempt> attempt)
    {
        attempt.ToTable("webhook_delivery_attempts");
        attempt.HasKey(a => new { a.DeliveryId, a.Attempt });
        attempt.Property(a => a.DeliveryId).HasColumnName("delivery_id").HasMaxLength(32);
        attempt.Property(a => a.Attempt).HasColumnName("attempt");
        attempt.Property(a => a.StatusCode).HasColumnName("status_code");
        attempt.Property(a => a.DurationMs).HasColumnName("duration_ms");
        attempt.Property(a => a.Error).HasColumnName("error").HasMaxLength(MaxErrorLength);
        attempt.Property(a => a.AttemptedAt).HasColumnName("attempted_at");
        attempt.HasOne<WebhookDelivery>().WithMany().HasForeignKey(a => a.DeliveryId).OnDelete(DeleteBehavior.Cascade);
    }
}
