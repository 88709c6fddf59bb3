using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Streaming;

/// <summary>
/// The streams each key has open on this node, at most Streaming:MaxStreamsPerKey: without it one key could take every
/// stream the node serves (Streaming:MaxStreams) and leave every other client 503. Admin keys are not counted.
/// </summary>
public sealed class KeyStreams(IOptions<StreamingOptions> options)
{
    private readonly ConcurrentDictionary<string, int> open = new(StringComparer.Ordinal);

    public int Max => options.Value.MaxStreamsPerKey;

    /// <summary>A place for one more of the key's streams, held until disposed; null when it has its most open.</summary>
    public Lease? TryEnter(string keyId)
    {
        while (true)
        {
            var count = open.GetValueOrDefault(keyId);
            if (count >= Max)
            {
                return null;
            }
            if (count == 0 ? open.TryAdd(keyId, 1) : open.TryUpdate(keyId, count + 1, count))
            {
                return new Lease(this, keyId);
            }
        }
    }

    private void Leave(string keyId)
    {
        while (true)
        {
            var count = open[keyId];
            if (count == 1
                ? open.TryRemove(new KeyValuePair<string, int>(keyId, 1)) // a key without streams is forgotten
                : open.TryUpdate(keyId, count - 1, count))
            {
                return;
            }
        }
    }

    public sealed class Lease(KeyStreams streams, string keyId) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                streams.Leave(keyId);
            }
        }
    }
}
