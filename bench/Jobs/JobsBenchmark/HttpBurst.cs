using System.Collections.Concurrent;
using System.Diagnostics;

namespace AgentCorex.Bench.Jobs;

/// <summary>A fixed number of requests sent over N connections as fast as they are answered.</summary>
internal static class HttpBurst
{
    /// <param name="StartedAt">The Stopwatch timestamp of the first request, once the connections were open.</param>
    public sealed record Result(long StartedAt, TimeSpan Elapsed, Latencies Latency, Vitals Vitals);

    public static Task<Result> RunAsync(
        ApiClients clients, string apiKey, int requests, int connections, Func<HttpClient, CancellationToken, Task> send, CancellationToken cancellationToken) =>
        RunAsync([clients], apiKey, requests, connections, send, cancellationToken);

    /// <summary>Connection i goes to server i mod the number of servers: the load spread evenly over nodes.</summary>
    public static async Task<Result> RunAsync(
        IReadOnlyList<ApiClients> servers, string apiKey, int requests, int connections, Func<HttpClient, CancellationToken, Task> send, CancellationToken cancellationToken)
    {
        var http = Enumerable.Range(0, connections).Select(i => servers[i % servers.Count].Create(apiKey)).ToArray();
        try
        {
            // One request per connection first, so connection set-up is not timed.
            await Task.WhenAll(http.Select(async c => (await c.GetAsync("/health/live", cancellationToken)).Dispose()));
            var vitals = Vitals.Start();
            var started = Stopwatch.GetTimestamp();
            var sent = 0;
            var latencies = new ConcurrentBag<long[]>();
            await Task.WhenAll(http.Select(async client =>
            {
                var mine = new List<long>();
                while (Interlocked.Increment(ref sent) <= requests)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    await send(client, cancellationToken);
                    mine.Add(Stopwatch.GetTimestamp() - t0);
                }
                latencies.Add([.. mine]);
            }));
            return new Result(started, Stopwatch.GetElapsedTime(started), Latencies.FromTicks(latencies.SelectMany(l => l)), vitals());
        }
        finally
        {
            foreach (var client in http)
            {
                client.Dispose();
            }
        }
    }
}
