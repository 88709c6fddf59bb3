using System.Collections.Concurrent;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The jobs this node is running, so a forced cancel received here stops its tool at once. A cancel received
/// by another node reaches the job through Hangfire instead (its state changes; the worker's token fires).
/// </summary>
public sealed class RunningJobs
{
    private readonly ConcurrentDictionary<string, CancellationTokenSource> running = new(StringComparer.Ordinal);

    /// <summary>How many jobs this node is running now.</summary>
    public int Count => running.Count;

    public CancellationTokenSource Register(string jobId, CancellationToken hangfireToken)
    {
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(hangfireToken);
        running[jobId] = cancellation;
        return cancellation;
    }

    public void Unregister(string jobId, CancellationTokenSource cancellation) =>
        running.TryRemove(new KeyValuePair<string, CancellationTokenSource>(jobId, cancellation));

    public void Cancel(string jobId)
    {
        if (running.TryGetValue(jobId, out var cancellation))
        {
            try
            {
                cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the run ended meanwhile
            }
        }
    }
}
