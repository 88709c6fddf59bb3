using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// The embedded default is one node: its counts live in memory, exact and free of I/O. A key's window is one
/// long (minute in the high bits, count in the low 24) moved forward by compare-and-swap: every request of a
/// busy key hits it, and a lock there is where 32 connections of one key would queue.
/// </summary>
internal sealed class InMemoryRequestCounter : IRequestCounter
{
    private const int CountBits = 24;
    private const long CountMask = (1L << CountBits) - 1;

    private readonly ConcurrentDictionary<(string KeyId, string Bucket), StrongBox<long>> windows = new();

    public ValueTask<int> CountAsync(string keyId, string bucket, long minute, CancellationToken cancellationToken)
    {
        var window = windows.GetOrAdd((keyId, bucket), static _ => new StrongBox<long>());
        while (true)
        {
            var seen = Volatile.Read(ref window.Value);
            var count = seen >> CountBits == minute ? Math.Min((seen & CountMask) + 1, CountMask) : 1;
            if (Interlocked.CompareExchange(ref window.Value, minute << CountBits | count, seen) == seen)
            {
                return ValueTask.FromResult((int)count);
            }
        }
    }
}
