using System.Diagnostics;
using AgentCorex.Web.Jobs;
using Hangfire.Server;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Counts finished runs as Hangfire's worker sees them, for both sides alike: a ToolJob has already written
/// its final ledger row when it returns, so this is the moment the API's job is completed. Cheaper and more
/// exact than polling the ledger, which is still checked once after each run.
/// </summary>
internal sealed class CompletionCounter : IServerFilter
{
    public Completions Tools { get; } = new();

    public Completions Noops { get; } = new();

    public void OnPerforming(PerformingContext context) => For(context.BackgroundJob.Job.Type)?.Performing();

    public void OnPerformed(PerformedContext context)
    {
        var type = context.BackgroundJob.Job.Type;
        // A ToolJob that returns normally may still have ended failed, timed out or canceled: its summary says.
        For(type)?.Record(context.Exception is null && (type == typeof(NoopJob) || context.Result is JobRunSummary { Status: JobStatus.Completed }));
    }

    private Completions? For(Type job) => job == typeof(NoopJob) ? Noops : job == typeof(ToolJob) ? Tools : null;
}

internal sealed class Completions
{
    private readonly Lock gate = new();
    private long ended;
    private long lastPerformingAt;
    private long lastEndedAt;
    private long failed;
    private (long Target, TaskCompletionSource<long> Reached)? waiter;

    public long Ended => Volatile.Read(ref ended);

    public long Failed => Volatile.Read(ref failed);

    /// <summary>The Stopwatch timestamp at which a worker last began a run (picked the job up).</summary>
    public long LastPerformingAt => Volatile.Read(ref lastPerformingAt);

    /// <summary>The Stopwatch timestamp at which a run last ended (read with <see cref="Ended"/>, it may lag by one run).</summary>
    public long LastEndedAt => Volatile.Read(ref lastEndedAt);

    public void Performing() => Volatile.Write(ref lastPerformingAt, Stopwatch.GetTimestamp());

    public void Record(bool completed)
    {
        Volatile.Write(ref lastEndedAt, Stopwatch.GetTimestamp());
        var count = Interlocked.Increment(ref ended);
        if (!completed)
        {
            Interlocked.Increment(ref failed);
        }
        lock (gate)
        {
            if (waiter is { } w && count >= w.Target)
            {
                w.Reached.TrySetResult(Stopwatch.GetTimestamp());
                waiter = null;
            }
        }
    }

    /// <summary>The Stopwatch timestamp at which the <paramref name="target"/>-th run ended (counted since start).</summary>
    public async Task<long> WaitForAsync(long target, TimeSpan timeout)
    {
        var reached = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            if (Ended >= target)
            {
                return Stopwatch.GetTimestamp();
            }
            waiter = (target, reached);
        }
        try
        {
            return await reached.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Only {Ended} of {target} runs ended within {timeout.TotalSeconds:0} s.");
        }
    }
}
