using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
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
                await submitter.SubmitAsync(owner, "echo", arguments.RootElement, 30_000, idempotencyKey: null, cancellationToken);
                latencies.Add(Stopwatch.GetTimestamp() - t0);
            }
        }, cancellationToken)));
        await counter.Tools.WaitForAsync(target, ApiThroughput.Deadline(jobs));
        var completed = await LedgerCompletions.UntilAsync(services, j => j.OwnerKeyId == LedgerAblation.OwnerKeyId && j.CreatedAt >= since, jobs, cancellationToken);
        if (completed < jobs)
        {
            throw new TimeoutException($"The ledger held {completed} of the {jobs} jobs completed 10 s after their Hangfire jobs' ends.");
        }
        var ended = Stopwatch.GetTimestamp();
        return new AblationRun(name, jobs, Stopwatch.GetElapsedTime(started, ended), Latencies.FromTicks(latencies), SlowWrites: 0, vitals());
    }
}
