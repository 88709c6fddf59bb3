using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

/// <param name="Held">Finished jobs Hangfire had once all had ended.</param>
/// <param name="HeldBytes">The heap they held: the live heap with them less the live heap once they were dropped.</param>
internal sealed record MemoryRun(string Mix, int Jobs, long Held, long LiveBefore, long LiveAfter)
{
    public long HeldBytes => LiveBefore - LiveAfter;

    public double BytesPerHeldJob => Held == 0 ? 0 : (double)HeldBytes / Held;

    public override string ToString() =>
        $"{Mix}: {Jobs} API jobs ended, Hangfire kept {Held} finished; live heap {LiveBefore / 1e6:0.0} MB with them, " +
        $"{LiveAfter / 1e6:0.0} MB once dropped: {HeldBytes / 1e6:0.0} MB, {BytesPerHeldJob:0} bytes per finished Hangfire job";
}

/// <summary>
/// The heap Hangfire.InMemory holds for finished jobs (the embedded default). N API jobs end (echo, or a mix of echo,
/// waits reporting progress and failures); on a collected heap, every finished job Hangfire still has is dropped and
/// the heap collected again: the difference is theirs, whatever else the process holds. Before the run, the
/// warm-up's finished jobs are dropped the same way.
/// </summary>
internal static class HangfireMemory
{
    private static readonly object[] Mix =
    [
        new { tool = "echo", arguments = new { message = "x" } },
        new { tool = "wait", arguments = new { duration_ms = 2, steps = 2 } },
        new { tool = "fail", arguments = new { message = "no" } },
    ];

    public static async Task<MemoryRun> RunAsync(string mix, int jobs, int connections, ApiClients clients, string apiKey, IServiceProvider services, CancellationToken cancellationToken)
    {
        var storage = services.GetRequiredService<JobStorage>();
        await UntilIdleAsync(services, storage, TimeSpan.FromSeconds(60), cancellationToken);
        DropFinished(storage);
        var sent = 0;
        await HttpBurst.RunAsync(clients, apiKey, jobs, connections, async (client, ct) =>
        {
            var job = mix == "echo" ? Mix[0] : Mix[Interlocked.Increment(ref sent) % Mix.Length];
            using var response = await client.PostAsJsonAsync("/jobs/submit", job, ct);
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new HttpRequestException($"POST /jobs/submit answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            }
        }, cancellationToken);
        await UntilIdleAsync(services, storage, ApiThroughput.Deadline(jobs), cancellationToken);
        var held = Finished(storage).Count;
        var before = LiveHeap();
        DropFinished(storage);
        return new MemoryRun(mix, jobs, held, before, LiveHeap());
    }

    private static long LiveHeap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Every job has ended in the ledger and in Hangfire (bounded: within <paramref name="patience"/>).</summary>
    private static async Task UntilIdleAsync(IServiceProvider services, JobStorage storage, TimeSpan patience, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * patience.TotalSeconds);
        var monitoring = storage.GetMonitoringApi();
        while (true)
        {
            await using (var scope = services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
                var open = await db.Jobs.CountAsync(j => j.Status == JobStatus.Queued || j.Status == JobStatus.Running, cancellationToken);
                if (open == 0 && monitoring.EnqueuedCount(EnqueuedState.DefaultQueue) == 0 && monitoring.ProcessingCount() == 0)
                {
                    // A worker ends its Hangfire job a moment after the ledger's end: give the last ones that moment.
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    return;
                }
            }
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"The jobs did not all end within {patience.TotalSeconds:0} s.");
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    private static List<string> Finished(JobStorage storage)
    {
        var monitoring = storage.GetMonitoringApi();
        return
        [
            .. monitoring.SucceededJobs(0, int.MaxValue).Select(j => j.Key),
            .. monitoring.FailedJobs(0, int.MaxValue).Select(j => j.Key),
            .. monitoring.DeletedJobs(0, int.MaxValue).Select(j => j.Key),
        ];
    }

    private static void DropFinished(JobStorage storage)
    {
        using var connection = storage.GetConnection();
        foreach (var batch in Finished(storage).Chunk(1_000))
        {
            using var transaction = connection.CreateWriteTransaction();
            foreach (var id in batch)
            {
                transaction.ExpireJob(id, TimeSpan.Zero);
            }
            transaction.Commit();
        }
    }
}
