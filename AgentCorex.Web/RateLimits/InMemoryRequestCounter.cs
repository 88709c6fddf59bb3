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
            var seenMinute = seen >> CountBits;
            var count = seenMinute >= minute ? Math.Min((seen & CountMask) + 1, CountMask) : 1;
            if (Interlocked.CompareExchange(ref window.Value, Math.Max(seenMinute, minute) << CountBits | count, seen) == seen)
            {
                return ValueTask.FromResult((int)count);
            }
        }
    }
}
