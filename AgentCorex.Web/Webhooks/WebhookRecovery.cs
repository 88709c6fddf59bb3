using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// On the embedded executor Hangfire forgets its jobs on restart, and with them the scheduled retries: at start,
/// every pending delivery is scheduled again for when its next attempt was due. On a server database Hangfire's
/// own tables keep them.
/// </summary>
internal sealed partial class WebhookRecovery(IServiceScopeFactory scopes, HangfireExecutor executor, TimeProvider time, ILogger<WebhookRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!executor.ForgetsOnRestart)
        {
            return;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var hangfire = scope.ServiceProvider.GetRequiredService<IBackgroundJobClient>();
        var now = time.GetUtcNow().UtcDateTime;
        // An attempt in flight when this process stopped is not in flight any more.
        await db.WebhookDeliveries.Where(d => d.Status == DeliveryStatus.Pending && d.InFlightUntil != null)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.InFlightUntil, (DateTime?)null), cancellationToken);
        var pending = db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.Status == DeliveryStatus.Pending)
            .OrderBy(d => d.NextAttemptAt)
            .Select(d => new { d.Id, d.Attempts, d.NextAttemptAt })
            .AsAsyncEnumerable();
        var count = 0;
        await foreach (var delivery in pending.WithCancellation(cancellationToken))
        {
            var due = (delivery.NextAttemptAt ?? now) - now;
            WebhookDispatcher.Schedule(hangfire, delivery.Id, delivery.Attempts + 1, due > TimeSpan.Zero ? due : TimeSpan.Zero);
            count++;
        }
        if (count > 0)
        {
            LogRecovered(logger, count);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered after restart: {Count} pending webhook deliveries scheduled again")]
    private static partial void LogRecovered(ILogger logger, int count);
}
