using System.Diagnostics;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

/// <param name="ToRunning">API: the ledger's started_at - created_at. Raw: enqueue to the job's method running.</param>
/// <param name="PickedUp">From the POST being sent (or the enqueue) to a Hangfire worker beginning the run.</param>
/// <param name="ToEnd">From the POST being sent (or the enqueue) to the run having ended.</param>
/// <param name="Accepted">API only: from the POST being sent to its 202.</param>
internal sealed record IdleLatencyRun(string Side, Latencies ToRunning, Latencies PickedUp, Latencies ToEnd, Latencies? Accepted)
{
    public override string ToString() =>
        $"{Side}: to running {ToRunning}\n  picked up by a worker {PickedUp}\n  to end {ToEnd}" +
        (Accepted is null ? "" : $"\n  202 answered {Accepted}");
}

/// <summary>
/// Submit-to-running on an idle server: one job at a time, the next only after the last has ended and a short
/// pause, so nothing else is queued or running. The API's figure is the ledger's started_at - created_at.
/// </summary>
internal sealed class IdleLatency(IServiceProvider services, CompletionCounter counter)
{
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(10);

    public async Task<IdleLatencyRun> ApiAsync(HttpClient client, int jobs, CancellationToken cancellationToken)
    {
        var accepted = new List<long>();
        var pickedUp = new List<long>();
        var toEnd = new List<long>();
        var submittedAt = new Dictionary<string, long>();
        for (var i = 0; i < jobs; i++)
        {
            var target = counter.Tools.Ended + 1;
            var t0 = Stopwatch.GetTimestamp();
            var jobId = await ApiClients.SubmitEchoAsync(client, cancellationToken);
            accepted.Add(Stopwatch.GetTimestamp() - t0);
            toEnd.Add(await counter.Tools.WaitForAsync(target, TimeSpan.FromSeconds(30)) - t0);
            pickedUp.Add(counter.Tools.LastPerformingAt - t0);
            submittedAt[jobId] = t0;
            await Task.Delay(Pause, cancellationToken);
        }

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var ids = submittedAt.Keys.ToList();
        var rows = await db.Jobs.AsNoTracking().Where(j => ids.Contains(j.Id))
            .Select(j => new { j.Id, j.CreatedAt, j.StartedAt })
            .ToListAsync(cancellationToken);
        if (rows.Count != jobs || rows.Any(r => r.StartedAt is null))
        {
            throw new InvalidOperationException($"The ledger holds {rows.Count} of the {jobs} idle jobs, or some never started.");
        }
        var ledger = Latencies.FromMs(rows.Select(r => (r.StartedAt!.Value - r.CreatedAt).TotalMilliseconds));
        return new IdleLatencyRun("api", ledger, Latencies.FromTicks(pickedUp), Latencies.FromTicks(toEnd), Latencies.FromTicks(accepted));
    }

    public async Task<IdleLatencyRun> RawAsync(IBackgroundJobClient hangfire, int jobs, CancellationToken cancellationToken)
    {
        var toRunning = new List<long>();
        var pickedUp = new List<long>();
        var toEnd = new List<long>();
        for (var i = 0; i < jobs; i++)
        {
            var target = counter.Noops.Ended + 1;
            var t0 = Stopwatch.GetTimestamp();
            hangfire.Enqueue<NoopJob>(job => job.RunTimed(t0));
            var ended = await counter.Noops.WaitForAsync(target, TimeSpan.FromSeconds(30));
            toRunning.Add(NoopJob.LastStartedAt - t0);
            pickedUp.Add(counter.Noops.LastPerformingAt - t0);
            toEnd.Add(ended - t0);
            await Task.Delay(Pause, cancellationToken);
        }
        return new IdleLatencyRun("raw", Latencies.FromTicks(toRunning), Latencies.FromTicks(pickedUp), Latencies.FromTicks(toEnd), Accepted: null);
    }
}
