using System.Collections.Concurrent;
using AgentCorex.Web.Execution;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The jobs this node is running, so a forced cancel received here stops its tool at once. A cancel received
/// by another node reaches the job through Hangfire instead (its state changes; the worker's token fires). And the
/// runs whose worker went on before their end was stored (<see cref="EndInFlight"/>).
/// </summary>
public sealed partial class RunningJobs(ILogger<RunningJobs> logger)
{
    private readonly ConcurrentDictionary<string, Run> running = new(StringComparer.Ordinal);

    /// <summary>Each job's attempt whose end is handed to the ledger but not stored yet.</summary>
    private readonly ConcurrentDictionary<string, int> ending = new(StringComparer.Ordinal);

    /// <summary>How many jobs this node is running now, or has run and not yet stored the end of: the drain waits for both.</summary>
    public int Count => running.Count + ending.Count;

    public Run Register(string jobId, CancellationToken hangfireToken)
    {
        var run = new Run(jobId, hangfireToken, logger);
        running[jobId] = run;
        return run;
    }

    public void Unregister(string jobId, Run run) =>
        running.TryRemove(new KeyValuePair<string, Run>(jobId, run));

    /// <summary>Fires the job's token (a forced cancel, once stored).</summary>
    public void Cancel(string jobId)
    {
        if (running.TryGetValue(jobId, out var run))
        {
            run.Cancel();
        }
    }

    /// <summary>
    /// A run whose worker went on before its end was stored (the embedded database's ledger applies it in order).
    /// Hangfire shows the run ended, while the ledger shows it running until the end is stored, which a write outage
    /// can put off for as long as it lasts: the repair pass must not take it for a run cut off meanwhile
    /// (<see cref="IsEnding"/>). Until <see cref="EndSettled"/>.
    /// </summary>
    public void EndInFlight(string jobId, int attempt) => ending[jobId] = attempt;

    /// <summary>The end of <see cref="EndInFlight"/> is stored, or given up on.</summary>
    public void EndSettled(string jobId, int attempt) =>
        ending.TryRemove(new KeyValuePair<string, int>(jobId, attempt));

    /// <summary>Whether this attempt of the job ended on this node with its end not stored yet.</summary>
    public bool IsEnding(string jobId, int attempt) => ending.TryGetValue(jobId, out var ended) && ended == attempt;

    /// <summary>
    /// A job's run here, and its token, fired by a forced cancel or by its Hangfire job's token. Both come once the
    /// cancel is decided (stored, or the Hangfire job's state changed), so a callback on the token that throws must not
    /// stop what follows: it is logged, and the job is canceled all the same. The tool's own token is the runner's,
    /// whose callbacks' failures <see cref="ToolRunner"/> logs; on this one sit what the job's validator left registered.
    /// </summary>
    public sealed class Run : IDisposable
    {
        private readonly CancellationTokenSource cancellation = new();
        private readonly string jobId;
        private readonly ILogger logger;
        private readonly CancellationTokenRegistration hangfireLink;

        internal Run(string jobId, CancellationToken hangfireToken, ILogger logger)
        {
            this.jobId = jobId;
            this.logger = logger;
            // Not a linked source: its Cancel, run inside Hangfire's, would throw what a callback threw into Hangfire's cancel.
            hangfireLink = hangfireToken.UnsafeRegister(static run => ((Run)run!).Cancel(), this);
        }

        public CancellationToken Token => cancellation.Token;

        public bool IsCancellationRequested => cancellation.IsCancellationRequested;

        internal void Cancel()
        {
            if (ToolTokenSource.Cancel(cancellation) is { } callbacksFailed)
            {
                LogCallbackFailed(logger, callbacksFailed, jobId);
            }
        }

        public void Dispose()
        {
            hangfireLink.Dispose();
            cancellation.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: a callback registered on its cancellation token threw as the token fired; the job was canceled all the same")]
    private static partial void LogCallbackFailed(ILogger logger, Exception exception, string jobId);
}
