using System.Collections.Concurrent;

namespace AgentCorex.Web.Api;

/// <summary>
/// Drops a time-limited cache's expired entries, from the path that loads a missing one (which already pays a query),
/// once every <see cref="Period"/> at most. An expired entry is never read, but it stayed until its key was read again,
/// and a key revoked or gone quiet (or whose webhooks were deleted) may never be: the cache held every key that ever
/// called. A hit pays nothing.
/// </summary>
internal sealed class ExpiredEntries
{
    public static readonly TimeSpan Period = TimeSpan.FromMinutes(1);

    private long nextDrop;

    public void DropIfDue<TKey, TValue>(ConcurrentDictionary<TKey, TValue> cache, Func<TValue, DateTimeOffset> expiresAt, DateTimeOffset now)
        where TKey : notnull
    {
        var due = Volatile.Read(ref nextDrop);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref nextDrop, (now + Period).UtcTicks, due) != due)
        {
            return;
        }
        foreach (var entry in cache)
        {
            if (expiresAt(entry.Value) <= now)
            {
                cache.TryRemove(entry); // that entry only: one loaded again meanwhile stays
            }
        }
    }
}
