using System.Collections.Concurrent;
using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// Which events each key's webhooks want, kept for Webhooks:SubscriptionCacheTtl, so that a job whose owner has
/// no webhook costs a dictionary look-up and no query. <see cref="Forget"/> makes a change on this node take
/// effect at once.
/// </summary>
public sealed class WebhookSubscriptions(IServiceScopeFactory scopes, IOptions<WebhooksOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Cached> cache = new(StringComparer.Ordinal);
    private readonly ExpiredEntries expired = new();

    /// <summary>The bits (<see cref="JobEventNames.Bit"/>) of the events any of the key's enabled webhooks subscribes to.</summary>
    public ValueTask<int> EventBitsAsync(string ownerKeyId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return cache.TryGetValue(ownerKeyId, out var cached) && cached.ExpiresAt > now
            ? ValueTask.FromResult(cached.Bits)
            : LoadAsync(ownerKeyId, now, cancellationToken);
    }

    public void Forget(string ownerKeyId) => cache.TryRemove(ownerKeyId, out _);

    /// <summary>The keys whose subscriptions are kept, for tests.</summary>
    internal int Kept => cache.Count;

    private async ValueTask<int> LoadAsync(string ownerKeyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        expired.DropIfDue(cache, static cached => cached.ExpiresAt, now);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var events = await db.Webhooks.AsNoTracking().Where(w => w.OwnerKeyId == ownerKeyId && w.DisabledAt == null).Select(w => w.Events).ToListAsync(cancellationToken);
        var bits = events.Aggregate(0, (all, stored) => all | JobEventNames.Bits(stored));
        cache[ownerKeyId] = new Cached(bits, now + options.Value.SubscriptionCacheTtl);
        return bits;
    }

    private sealed record Cached(int Bits, DateTimeOffset ExpiresAt);
}
