using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Ablation: the API's jobs without HTTP. Echo jobs go through the server's own JobSubmitter (ledger INSERT,
/// Hangfire enqueue) from N concurrent callers, each in a scope as a request has; done when the ledger holds the N
/// jobs completed, as an API run is. Against the API run, the difference is what HTTP, auth and MVC add to a submit.
/// </summary>
internal sealed class InProcessJobs(IServiceProvider services, CompletionCounter counter)
{
    public async Task<AblationRun> RunAsync(string name, int jobs, int concurrency, CancellationToken cancellationToken)
    {
        // A limit of executions at once that is never reached, as the API side's key has: every job is counted,
        // none is parked. (Under the pro plan's 5, parked jobs of this key, which is in no api_keys row, were never
        // handed over: a key that cannot be found counts as revoked.)
        var owner = new ApiKeyIdentity(LedgerAblation.OwnerKeyId, "jobs-bench ablation", "pro", IsAdmin: false, MaxConcurrent: 10_000);
        using var arguments = JsonDocument.Parse("""{"message":"x"}""");
        var target = counter.Tools.Ended + jobs;
        var since = DateTime.UtcNow;
        var vitals = Vitals.Start();
        var started = Stopwatch.GetTimestamp();
        var next = 0;
        var latencies = new ConcurrentBag<long>();
        // Task.Run: a submit completes synchronously (SQLite has no real async I/O), so without it the first
        // caller would submit every job before the second started.
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= jobs)
            {
                await using var scope = services.CreateAsyncScope();
                var submitter = scope.ServiceProvider.GetRequiredService<JobSubmitter>();
                var t0 = Stopwatch.GetTimestamp();
                await submitter.SubmitAsync(owner, "echo", arguments.RootElement, 30_000, cancellationToken);
                latencies.Add(Stopwatch.GetTimestamp() - t0);
            }
        }, cancellationToken)));
        await counter.Tools.WaitForAsync(target, ApiThroughput.Deadline(jobs));
        await UntilCompletedInLedgerAsync(since, jobs, cancellationToken);
        var ended = Stopwatch.GetTimestamp();
        return new AblationRun(name, jobs, Stopwatch.GetElapsedTime(started, ended), Latencies.FromTicks(latencies), SlowWrites: 0, vitals());
    }

    /// <summary>Waits (at most 10 s) until the ledger holds the run's jobs completed: a worker may end one before its end is committed.</summary>
    private async Task UntilCompletedInLedgerAsync(DateTime since, int jobs, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 10;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            var completed = await db.Jobs.CountAsync(
                j => j.OwnerKeyId == LedgerAblation.OwnerKeyId && j.CreatedAt >= since && j.Status == JobStatus.Completed, cancellationToken);
            if (completed >= jobs)
            {
                return;
            }
            await Task.Delay(1, cancellationToken);
        }
        throw new TimeoutException($"The ledger did not hold the {jobs} jobs completed within 10 s of their Hangfire jobs' ends.");
    }
}
