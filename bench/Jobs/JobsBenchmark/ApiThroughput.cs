using System.Diagnostics;

namespace AgentCorex.Bench.Jobs;

/// <summary>One side of the throughput comparison: how long N jobs take from the first submit to the N-th end.</summary>
internal sealed record ThroughputRun(string Side, int Jobs, TimeSpan SubmitPhase, TimeSpan EndToEnd, long Failed, Vitals Vitals, Latencies? SubmitLatency)
{
    public double JobsPerSecond => Jobs / EndToEnd.TotalSeconds;

    public double SubmitsPerSecond => Jobs / SubmitPhase.TotalSeconds;

    public override string ToString() =>
        $"{Side}: {Jobs} jobs in {EndToEnd.TotalSeconds:0.00} s = {JobsPerSecond:0} jobs/s (all submitted after {SubmitPhase.TotalSeconds:0.00} s = {SubmitsPerSecond:0}/s), " +
        $"{Failed} not completed, CPU {Vitals.MicrosecondsPer(Jobs):0} µs/job, {Vitals.CostsPer(Jobs)}; {Vitals}" +
        (SubmitLatency is null ? "" : $"; POST /jobs/submit {SubmitLatency}");
}

/// <summary>
/// (a) Jobs through the API: POST /jobs/submit (echo) from N connections; done when the N-th job is completed in the
/// ledger, which is when a client sees it so. (Hangfire's worker may end a job a moment before the ledger has stored its
/// end: <paramref name="untilCompletedInLedger"/> waits for the ledger to hold this many completed API jobs.)
/// </summary>
internal sealed class ApiThroughput(ApiClients clients, string apiKey, CompletionCounter counter, Func<long, CancellationToken, Task> untilCompletedInLedger)
{
    private long submitted;

    public async Task<ThroughputRun> RunAsync(int jobs, int connections, CancellationToken cancellationToken)
    {
        var target = counter.Tools.Ended + jobs;
        var failedBefore = counter.Tools.Failed;
        var vitals = Vitals.Start();
        var submits = await HttpBurst.RunAsync(clients, apiKey, jobs, connections, ApiClients.SubmitEchoAsync, cancellationToken);
        submitted += jobs;
        await counter.Tools.WaitForAsync(target, Deadline(jobs));
        await untilCompletedInLedger(submitted, cancellationToken);
        var ended = Stopwatch.GetTimestamp();
        return new ThroughputRun("api", jobs, submits.Elapsed, Stopwatch.GetElapsedTime(submits.StartedAt, ended), counter.Tools.Failed - failedBefore, vitals(), submits.Latency);
    }

    /// <summary>Bounded: a run slower than 100 jobs/s (plus a minute) is a failure, not a figure.</summary>
    public static TimeSpan Deadline(int jobs) => TimeSpan.FromSeconds(60 + jobs / 100.0);
}
