using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// The embedded default is one node: its counts live in memory, exact and free of I/O. A key's window is one
/// long (minute in the high bits, count in the low 24) moved forward by compare-and-swap: every request of a
/// busy key hits it, and a lock there is where 32 connections of one key would queue. A window never moves back:
/// a request that read the clock before the minute turned but is counted after one of the new minute counts in the
/// new minute (else the window went back, and the new minute's count started again from 1).
/// </summary>
/// <remarks>
/// The first count of each minute drops the windows no request counted in for a whole minute (keys revoked or gone
/// quiet), so that the table holds the keys of the last two minutes, not every key that ever called. A dropped window
/// is first marked <see cref="Dropped"/> by the same compare-and-swap: a request that took it just before counts
/// again in the window that replaces it, and is never lost from the minute's count.
/// </remarks>
internal sealed class InMemoryRequestCounter : IRequestCounter
{
    private const int CountBits = 24;
    private const long CountMask = (1L << CountBits) - 1;
    private const long Dropped = -1;

    private readonly ConcurrentDictionary<(string KeyId, string Bucket), StrongBox<long>> windows = new();
    private long lastDropMinute;

    /// <summary>The windows held, for tests.</summary>
    internal int Count => windows.Count;

    public ValueTask<int> CountAsync(string keyId, string bucket, long minute, CancellationToken cancellationToken)
    {
        if (MinuteTurns.FirstOf(ref lastDropMinute, minute))
        {
            DropIdle(minute);
        }
        var window = windows.GetOrAdd((keyId, bucket), static _ => new StrongBox<long>());
        while (true)
        {
            var seen = Volatile.Read(ref window.Value);
            if (seen == Dropped)
            {
                windows.TryRemove(new KeyValuePair<(string, string), StrongBox<long>>((keyId, bucket), window));
                window = windows.GetOrAdd((keyId, bucket), static _ => new StrongBox<long>());
                continue;
            }
            var seenMinute = seen >> CountBits;
            var count = seenMinute >= minute ? Math.Min((seen & CountMask) + 1, CountMask) : 1;
            if (Interlocked.CompareExchange(ref window.Value, Math.Max(seenMinute, minute) << CountBits | count, seen) == seen)
            {
                return ValueTask.FromResult((int)count);
            }
        }
    }

    private void DropIdle(long minute)
    {
        foreach (var (key, window) in windows)
        {
            var seen = Volatile.Read(ref window.Value);
            if (seen != Dropped && seen >> CountBits < minute - 1 && Interlocked.CompareExchange(ref window.Value, Dropped, seen) == seen)
            {
                windows.TryRemove(new KeyValuePair<(string, string), StrongBox<long>>(key, window));
            }
        }
    }
}
