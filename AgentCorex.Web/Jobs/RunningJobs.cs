using System.Collections.Concurrent;
using AgentCorex.Web.Execution;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The jobs this node is running, so a forced cancel received here stops its tool at once. A cancel received
/// by another node reaches the job through Hangfire instead (its state changes; the worker's token fires).
/// </summary>
public sealed partial class RunningJobs(ILogger<RunningJobs> logger)
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

    /// <summary>
    /// Fires the job's token. Called once its cancel is stored, so a callback on it that throws must not stop what
    /// follows: it is logged, and the job is canceled all the same. The tool's own token is the runner's, whose
    /// callbacks' failures <see cref="ToolRunner"/> logs; on this one sit what its validator left registered.
    /// </summary>
    public void Cancel(string jobId)
    {
        if (running.TryGetValue(jobId, out var cancellation) && ToolTokenSource.Cancel(cancellation) is { } callbacksFailed)
        {
            LogCallbackFailed(logger, callbacksFailed, jobId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: a callback registered on its cancellation token threw as the token fired; the job was canceled all the same")]
    private static partial void LogCallbackFailed(ILogger logger, Exception exception, string jobId);
}
