using System.Diagnostics;
using System.Net;

namespace AgentCorex.Bench.Jobs;

internal sealed record JobStatusRun(string Label, int Connections, long Requests, long Errors, TimeSpan Measured, Latencies Latency, Vitals Vitals)
{
    public double RequestsPerSecond => Requests / Measured.TotalSeconds;

    public override string ToString() =>
        $"{Label} ({Connections} connections): {RequestsPerSecond:0} req/s, {Latency}, {Errors} errors, CPU {Vitals.MicrosecondsPer(Requests):0} µs/request; {Vitals}";
}

/// <summary>
/// GET /jobs/{id} in a closed loop: each connection asks for a random one of the given jobs as soon as its
/// last answer arrived. Only answers that arrive inside the measured window count; the warm-up is not timed.
/// </summary>
internal sealed class JobStatusLoad(ApiClients clients, string apiKey)
{
    public async Task<JobStatusRun> RunAsync(string label, IReadOnlyList<string> jobIds, int connections, TimeSpan warmup, TimeSpan duration, CancellationToken cancellationToken)
    {
        var measureFrom = long.MaxValue;
        var measureUntil = long.MaxValue;
        var stopping = false;
        var workers = Enumerable.Range(0, connections).Select(async _ =>
        {
            using var client = clients.Create(apiKey);
            var latencies = new List<long>();
            long errors = 0;
            while (!Volatile.Read(ref stopping))
            {
                var jobId = jobIds[Random.Shared.Next(jobIds.Count)];
                var t0 = Stopwatch.GetTimestamp();
                using var response = await client.GetAsync($"/jobs/{jobId}", cancellationToken);
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                var t1 = Stopwatch.GetTimestamp();
                if (t1 < Volatile.Read(ref measureFrom) || t1 >= Volatile.Read(ref measureUntil))
                {
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    latencies.Add(t1 - t0);
                }
                else
                {
                    errors++;
                }
            }
            return (latencies, errors);
        }).ToArray();

        await Task.Delay(warmup, cancellationToken);
        var vitals = Vitals.Start();
        Volatile.Write(ref measureFrom, Stopwatch.GetTimestamp());
        await Task.Delay(duration, cancellationToken);
        Volatile.Write(ref measureUntil, Stopwatch.GetTimestamp());
        var window = vitals();
        Volatile.Write(ref stopping, true);
        var results = await Task.WhenAll(workers);
        var measured = Stopwatch.GetElapsedTime(measureFrom, measureUntil);
        var all = results.SelectMany(r => r.latencies).ToList();
        return new JobStatusRun(label, connections, all.Count, results.Sum(r => r.errors), measured, Latencies.FromTicks(all), window);
    }
}
