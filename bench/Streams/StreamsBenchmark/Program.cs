// Opens N idle job streams (GET /jobs/{id}/stream) against a running AgentCorex and reports what they cost the
// server process: threads and resident memory before and with them open, read from /proc/<pid>/status. Then it
// cancels the jobs one at a time and reports how long after each change its stream carried it: from the
// DELETE's 200 (the change committed) to the stream's "canceled" event. The DELETEs go to <changes url>, when
// given: another node of the same cluster, so the change reaches the streams' node through the database.
// It also reports the server process's CPU time (user and system) and the bytes it allocated (the runtime's
// dotnet.gc.heap.total_allocated, read from /metrics with the key, which must be an admin key) over 10 s with the
// jobs submitted and no stream open, the idle 10 s with the streams open, the 10 s after them (the runtime warmed
// up) and the cancels.
// Usage: StreamsBenchmark <base url> <api key> <server pid> [streams=500] [changes url=base url]
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

var baseUrl = new Uri(args[0]);
var apiKey = args[1];
var pid = int.Parse(args[2], CultureInfo.InvariantCulture);
var count = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 500;
var changesUrl = args.Length > 4 ? new Uri(args[4]) : baseUrl;

using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = count + 10, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
using var client = new HttpClient(handler) { BaseAddress = baseUrl, Timeout = Timeout.InfiniteTimeSpan };
client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
using var changes = new HttpClient { BaseAddress = changesUrl };
changes.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);

// Jobs that stay queued or running for the whole measurement: their streams stay idle but for keep-alives.
var jobs = new List<string>();
for (var i = 0; i < count; i++)
{
    var response = await client.PostAsJsonAsync("/jobs/submit", new { tool = "wait", arguments = new { duration_ms = 600_000 }, timeout_ms = 600_000 });
    response.EnsureSuccessStatusCode();
    jobs.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("job_id").GetString()!);
}
await Task.Delay(TimeSpan.FromSeconds(3));
GC.Collect();
var before = Sample(pid);
// The floor: what the server costs with the jobs waiting and no stream open.
var (noStreamsCpu, noStreamsAllocated) = await CostOverAsync(TimeSpan.FromSeconds(10));

using var stop = new CancellationTokenSource();
var firstEvents = 0;
var canceledSeen = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
var readers = jobs.Select(async id =>
{
    using var request = new HttpRequestMessage(HttpMethod.Get, $"/jobs/{id}/stream");
    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
    response.EnsureSuccessStatusCode();
    using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
    var first = true;
    try
    {
        while (await reader.ReadLineAsync(stop.Token) is { } line)
        {
            if (first && line.StartsWith("data: ", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref firstEvents);
                first = false;
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && line.Contains("\"status\":\"canceled\"", StringComparison.Ordinal))
            {
                canceledSeen[id] = Stopwatch.GetTimestamp();
            }
        }
    }
    catch (OperationCanceledException)
    {
    }
}).ToList();

var deadline = Stopwatch.StartNew();
while (Volatile.Read(ref firstEvents) < count && deadline.Elapsed < TimeSpan.FromSeconds(60))
{
    await Task.Delay(100);
}
var (idleCpu, idleAllocated) = await CostOverAsync(TimeSpan.FromSeconds(10)); // idle: nothing changes, the node's watcher polls
var during = Sample(pid);
// The first 10 s still carry the runtime's warm-up (tiered JIT compiles on a thread of its own): 10 s more, warm.
var (warmCpu, warmAllocated) = await CostOverAsync(TimeSpan.FromSeconds(10));

// One change at a time, 20 ms apart, so that each stream's latency is its own and not a queue's.
var committed = new Dictionary<string, long>();
var cancelsFrom = CpuTime(pid);
var cancelsTook = Stopwatch.StartNew();
foreach (var id in jobs)
{
    (await changes.DeleteAsync($"/jobs/{id}?force=true")).EnsureSuccessStatusCode();
    committed[id] = Stopwatch.GetTimestamp();
    await Task.Delay(20);
}
var waitForLast = Stopwatch.StartNew();
while (canceledSeen.Count < committed.Count && waitForLast.Elapsed < TimeSpan.FromSeconds(10))
{
    await Task.Delay(50);
}
var cancelsCpu = CpuTime(pid) - cancelsFrom;
cancelsTook.Stop();
stop.Cancel();
await Task.WhenAll(readers.Select(r => r.ContinueWith(_ => { })));
var latencies = committed.Where(c => canceledSeen.ContainsKey(c.Key))
    .Select(c => Stopwatch.GetElapsedTime(c.Value, canceledSeen[c.Key]).TotalMilliseconds)
    .Order()
    .ToList();

Console.WriteLine($"| streams open | server threads | server RSS MiB |");
Console.WriteLine($"| ---: | ---: | ---: |");
Console.WriteLine($"| 0 | {before.Threads} | {before.RssKb / 1024.0:F1} |");
Console.WriteLine($"| {firstEvents} | {during.Threads} | {during.RssKb / 1024.0:F1} |");
Console.WriteLine();
Console.WriteLine($"per stream: {(during.Threads - before.Threads) / (double)Math.Max(1, firstEvents):F3} threads, {(during.RssKb - before.RssKb) / (double)Math.Max(1, firstEvents):F1} KiB");
Console.WriteLine();
Console.WriteLine($"server CPU: {noStreamsCpu.TotalMilliseconds:F0} ms over 10 s with no stream open ({noStreamsCpu.TotalMilliseconds / 100:F1} % of a core), "
    + $"{idleCpu.TotalMilliseconds:F0} ms over the idle 10 s ({idleCpu.TotalMilliseconds / 100:F1} %), "
    + $"{warmCpu.TotalMilliseconds:F0} ms over the next 10 s ({warmCpu.TotalMilliseconds / 100:F1} %); "
    + $"{cancelsCpu.TotalMilliseconds:F0} ms over the {committed.Count} cancels and their events ({cancelsTook.Elapsed.TotalSeconds:F1} s)");
Console.WriteLine();
Console.WriteLine($"change to event (DELETE's 200{(changesUrl == baseUrl ? "" : " on another node")} to the stream's canceled event), {latencies.Count} of {committed.Count} seen: "
    + $"p50 {Percentile(0.50):F1} ms, p95 {Percentile(0.95):F1} ms, p99 {Percentile(0.99):F1} ms, max {(latencies.Count > 0 ? latencies[^1] : double.NaN):F1} ms");

Console.WriteLine();
Console.WriteLine($"server allocated: {MegabytesPerSecond(noStreamsAllocated):F2} MB/s with no stream open, "
    + $"{MegabytesPerSecond(idleAllocated):F2} MB/s over the idle 10 s, {MegabytesPerSecond(warmAllocated):F2} MB/s over the next 10 s");

static double MegabytesPerSecond(long bytesIn10Seconds) => bytesIn10Seconds / 10.0 / 1_000_000;

// The server's CPU time and the bytes it allocated over a while; the scrapes of /metrics that bound it are counted too.
async Task<(TimeSpan Cpu, long Allocated)> CostOverAsync(TimeSpan span)
{
    var allocatedFrom = await AllocatedAsync();
    var cpuFrom = CpuTime(pid);
    await Task.Delay(span);
    var cpu = CpuTime(pid) - cpuFrom;
    return (cpu, await AllocatedAsync() - allocatedFrom);
}

async Task<long> AllocatedAsync()
{
    const string Metric = "dotnet_gc_heap_total_allocated_bytes";
    var metrics = await client.GetStringAsync("/metrics");
    var line = metrics.Split('\n').First(l => l.StartsWith(Metric, StringComparison.Ordinal));
    return long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
}

double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(p * latencies.Count) - 1)];

static TimeSpan CpuTime(int pid)
{
    using var process = Process.GetProcessById(pid);
    return process.TotalProcessorTime;
}

static (int Threads, long RssKb) Sample(int pid)
{
    var status = File.ReadAllLines($"/proc/{pid}/status");
    int threads = 0;
    long rss = 0;
    foreach (var line in status)
    {
        if (line.StartsWith("Threads:", StringComparison.Ordinal))
        {
            threads = int.Parse(line["Threads:".Length..].Trim(), CultureInfo.InvariantCulture);
        }
        else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
        {
            rss = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
    }
    return (threads, rss);
}
