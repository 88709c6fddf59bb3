using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace AgentCorex.Bench.LoadGenerator;

/// <summary>
/// N workers, each with its own single-connection client, each sending the next request as soon as the last
/// one is answered. Only requests that complete inside the measured window count, so the warm-up (JIT, tiered
/// compilation, connection set-up) stays out of the figures.
/// </summary>
internal sealed class ClosedLoop(LoadOptions options)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly byte[] body = Encoding.UTF8.GetBytes(options.Body);
    private readonly long maxRequests = options.MaxRequests;
    private long measureFrom = long.MaxValue;
    private long measureUntil = long.MaxValue;
    private long sent;
    private volatile bool stopping;

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken)
    {
        var workers = Enumerable.Range(0, options.Connections).Select(_ => new Worker(this, CreateClient())).ToArray();
        var running = workers.Select(w => w.RunAsync(cancellationToken)).ToArray();

        await Task.Delay(options.Warmup, cancellationToken);
        var before = CpuSample.Take(options.ServerPid);
        Volatile.Write(ref measureFrom, Stopwatch.GetTimestamp());
        await Task.Delay(options.Duration, cancellationToken);
        Volatile.Write(ref measureUntil, Stopwatch.GetTimestamp());
        var after = CpuSample.Take(options.ServerPid);
        stopping = true;
        await Task.WhenAll(running);

        var elapsed = Stopwatch.GetElapsedTime(measureFrom, measureUntil);
        var latencies = workers.SelectMany(w => w.Latencies).ToArray();
        Array.Sort(latencies);
        return LoadResult.From(options, elapsed, latencies, workers.Sum(w => w.Errors), before, after);
    }

    /// <summary>One request outside the load, so a wrong key, URL or body fails loudly before any figures.</summary>
    public async Task<(HttpStatusCode Status, string Body)> ProbeAsync(CancellationToken cancellationToken)
    {
        using var client = CreateClient();
        using var response = await client.SendAsync(CreateRequest(), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    private HttpClient CreateClient() => new(new SocketsHttpHandler { MaxConnectionsPerServer = 1, UseProxy = false, UseCookies = false })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private HttpRequestMessage CreateRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, options.Url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = Json } },
        };
        if (options.Bearer is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + options.Bearer);
        }
        return request;
    }

    private sealed class Worker(ClosedLoop loop, HttpClient client)
    {
        public List<long> Latencies { get; } = new(capacity: 64 * 1024);

        public long Errors { get; private set; }

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            using var _ = client;
            while (!loop.stopping && Interlocked.Increment(ref loop.sent) <= loop.maxRequests)
            {
                var started = Stopwatch.GetTimestamp();
                var ok = await SendAsync(cancellationToken);
                var ended = Stopwatch.GetTimestamp();
                if (ended < Volatile.Read(ref loop.measureFrom) || ended >= Volatile.Read(ref loop.measureUntil))
                {
                    continue;
                }
                if (ok)
                {
                    Latencies.Add(ended - started);
                }
                else
                {
                    Errors++;
                }
            }
        }

        private async Task<bool> SendAsync(CancellationToken cancellationToken)
        {
            try
            {
                using var response = await client.SendAsync(loop.CreateRequest(), HttpCompletionOption.ResponseContentRead, cancellationToken);
                return response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is (HttpRequestException or TaskCanceledException) && !cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }
}
