using System.Diagnostics;
using Hangfire;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// (b) The same number of no-op jobs enqueued straight into the server's Hangfire (its IBackgroundJobClient,
/// so the same storage, workers and filters), from <c>producers</c> threads; done when the N-th has run.
/// </summary>
internal sealed class RawHangfireThroughput(IBackgroundJobClient hangfire, CompletionCounter counter)
{
    public async Task<ThroughputRun> RunAsync(int jobs, int producers, CancellationToken cancellationToken)
    {
        var target = counter.Noops.Ended + jobs;
        var failedBefore = counter.Noops.Failed;
        var vitals = Vitals.Start();
        var started = Stopwatch.GetTimestamp();
        var sent = 0;
        // Enqueue is synchronous: each producer is a thread of its own, not a pool thread blocked in a task.
        var threads = Enumerable.Range(0, producers).Select(_ => new Thread(() =>
        {
            while (Interlocked.Increment(ref sent) <= jobs && !cancellationToken.IsCancellationRequested)
            {
                hangfire.Enqueue<NoopJob>(job => job.Run());
            }
        }) { IsBackground = true }).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }
        await Task.Run(() => Array.ForEach(threads, t => t.Join()), cancellationToken);
        var enqueued = Stopwatch.GetTimestamp();
        var ended = await counter.Noops.WaitForAsync(target, ApiThroughput.Deadline(jobs));
        return new ThroughputRun("raw", jobs, Stopwatch.GetElapsedTime(started, enqueued), Stopwatch.GetElapsedTime(started, ended),
            counter.Noops.Failed - failedBefore, vitals(), SubmitLatency: null);
    }
}
