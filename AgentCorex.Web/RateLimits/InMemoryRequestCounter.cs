using System.Collections.Concurrent;

namespace AgentCorex.Web.RateLimits;

/// <summary>The embedded default is one node: its counts live in memory, exact and free of I/O.</summary>
internal sealed class InMemoryRequestCounter : IRequestCounter
{
    private readonly ConcurrentDictionary<(string KeyId, string Bucket), Window> windows = new();

    public ValueTask<int> CountAsync(string keyId, string bucket, long minute, CancellationToken cancellationToken)
    {
        var window = windows.GetOrAdd((keyId, bucket), _ => new Window());
        lock (window)
        {
            if (window.Minute != minute)
            {
                window.Minute = minute;
                window.Requests = 0;
            }
            return ValueTask.FromResult(++window.Requests);
        }
    }

    private sealed class Window
    {
        public long Minute;
        public int Requests;
    }
}
