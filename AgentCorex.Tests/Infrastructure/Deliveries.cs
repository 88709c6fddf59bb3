using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// Webhook deliveries put straight into the database, as a crash leaves them (a row without its Hangfire job)
/// or as time leaves them (rows from last week), and read back from it.
/// </summary>
public static class Deliveries
{
    public static async Task<WebhookDelivery> AddDeliveryAsync(
        this AgentCorexApp app, string webhookId, string status, DateTime createdAt, DateTime? nextAttemptAt = null, DateTime? inFlightUntil = null, int attempts = 0)
    {
        var delivery = new WebhookDelivery
        {
            Id = "msg_seed" + Guid.NewGuid().ToString("N")[..8],
            WebhookId = webhookId,
            Event = "job.completed",
            JobId = "job_seed" + Guid.NewGuid().ToString("N")[..12],
            Payload = """{"event":"job.completed","timestamp":"2026-11-28T10:30:00Z","job":{"job_id":"job_seeded","status":"completed","tool":"echo","result":{}}}""",
            Status = status,
            Attempts = attempts,
            CreatedAt = createdAt,
            NextAttemptAt = status == DeliveryStatus.Pending ? nextAttemptAt ?? createdAt : null,
            InFlightUntil = inFlightUntil,
        };
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        db.WebhookDeliveries.Add(delivery);
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            db.WebhookAttempts.Add(new WebhookAttempt { DeliveryId = delivery.Id, Attempt = attempt, StatusCode = 200, DurationMs = 5, AttemptedAt = createdAt });
        }
        await db.SaveChangesAsync();
        return delivery;
    }

    public static async Task<(WebhookDelivery? Delivery, int Attempts)> FindDeliveryAsync(this AgentCorexApp app, string deliveryId)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        return (await db.WebhookDeliveries.AsNoTracking().SingleOrDefaultAsync(d => d.Id == deliveryId),
            await db.WebhookAttempts.CountAsync(a => a.DeliveryId == deliveryId));
    }

    /// <summary>Polls Hangfire until each of these jobs is in the state, failing after the deadline.</summary>
    public static async Task WaitForHangfireJobsAsync(this AgentCorexApp app, IEnumerable<string> hangfireIds, string state, TimeSpan? within = null)
    {
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var states = hangfireIds.Select(id => monitoring.JobDetails(id)?.History.FirstOrDefault()?.StateName).ToList();
            if (states.All(s => s == state))
            {
                return;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Hangfire jobs {string.Join(", ", hangfireIds)} did not all reach {state} in time: {string.Join(", ", states)}");
            }
            await Task.Delay(20);
        }
    }
}
