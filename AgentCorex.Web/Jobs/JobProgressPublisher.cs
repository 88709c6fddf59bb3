using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Execution;
using Hangfire;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Stores a running job's progress as a Hangfire job parameter, where any node can read it. Reports are
/// coalesced: at most one write per <see cref="JobsOptions.ProgressInterval"/>, always ending with the latest, which
/// the dispose at the run's end writes without waiting out the interval. A report after it (a tool that ignored its
/// token and runs on past its job's end) is not written: the job's Hangfire record is no longer the run's.
/// </summary>
internal sealed partial class JobProgressPublisher(JobStorage storage, string hangfireId, TimeSpan interval, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    public const string ParameterName = "progress";

    private readonly Lock gate = new();
    private readonly CancellationTokenSource disposing = new();
    private bool disposed;

    /// <summary>
    /// Whether a write loop will take <see cref="pending"/>: set as a report starts one, cleared under the lock as the loop
    /// finds nothing left. Its task completes only after that lock is released, so a report in between that asked the
    /// task saw it running and started none, and nor did any report after it (one was pending): lost for the run.
    /// </summary>
    private bool looping;
    private ToolProgress? pending;
    private Task writer = Task.CompletedTask;
    private long lastWrite = long.MinValue;

    public void Report(ToolProgress progress)
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            pending = progress;
            if (!looping)
            {
                looping = true;
                writer = WriteLoopAsync();
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        // Off the reporting thread: a tool that reports progress is never held up by the storage's write.
        await Task.Yield();
        while (true)
        {
            var wait = lastWrite == long.MinValue ? TimeSpan.Zero : interval - time.GetElapsedTime(lastWrite);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, disposing.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            ToolProgress? next;
            lock (gate)
            {
                next = pending;
                pending = null;
                if (next is null)
                {
                    looping = false;
                    return;
                }
            }
            lastWrite = time.GetTimestamp();
            try
            {
                using var connection = storage.GetConnection();
                connection.SetJobParameter(hangfireId, ParameterName, JsonSerializer.Serialize(next, ApiJson.Options));
            }
            catch (Exception e)
            {
                LogWriteFailed(logger, e, hangfireId);
            }
        }
    }

    public static ToolProgress? Read(JobStorage storage, string hangfireId)
    {
        using var connection = storage.GetConnection();
        var stored = connection.GetJobParameter(hangfireId, ParameterName);
        return stored is null ? null : JsonSerializer.Deserialize<ToolProgress>(stored, ApiJson.Options);
    }

    /// <summary>
    /// Forgets a cut-off run's progress when Hangfire is to run the job again under the same Hangfire job: the new run
    /// would otherwise be shown with it until its first report. A failure is only logged: what it leaves is stale, not wrong.
    /// </summary>
    public static void Clear(JobStorage storage, string hangfireId, ILogger logger)
    {
        try
        {
            using var connection = storage.GetConnection();
            connection.SetJobParameter(hangfireId, ParameterName, null);
        }
        catch (Exception e)
        {
            LogWriteFailed(logger, e, hangfireId);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task last;
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            last = writer;
        }
        // The loop, woken from its wait, writes what is pending (a report pending always has its loop) and ends.
        await disposing.CancelAsync();
        await last;
        disposing.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not store the progress of Hangfire job {HangfireId}")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, string hangfireId);
}
