using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace AgentCorex.Bench.Jobs;

/// <summary>One measured run of a topology: N jobs from the first submit (or enqueue) to the N-th ended.</summary>
/// <param name="JitMethods">Methods the nodes' JIT compiled meanwhile (tier-up included): a run that compiles many is not warm.</param>
internal sealed record PgRun(string Side, int Nodes, int Jobs, TimeSpan SubmitPhase, TimeSpan EndToEnd, long Failed, ClusterVitals Vitals,
    Latencies? SubmitLatency, PgCounters Db, IReadOnlyList<PgStatement> Statements, long JitMethods)
{
    public double JobsPerSecond => Jobs / EndToEnd.TotalSeconds;

    public double Per(long count) => (double)count / Jobs;

    public override string ToString() =>
        $"{Side} on {Nodes} node(s): {Jobs} jobs in {EndToEnd.TotalSeconds:0.00} s = {JobsPerSecond:0} jobs/s (submitted after {SubmitPhase.TotalSeconds:0.00} s), " +
        $"{Failed} not completed; per job {Per(Db.Commits):0.0} commits, {Per(Db.Rollbacks):0.0} rollbacks, {Per(Db.WalBytes):0} WAL bytes, {Per(Db.WalSyncs):0.00} WAL flushes, " +
        $"{Per(Statements.Sum(s => s.Calls)):0.0} statements; nodes' JIT {JitMethods} methods; CPU {Vitals.MicrosecondsPer(Jobs):0} µs/job (nodes + postgres); {Vitals}" +
        (SubmitLatency is null ? "" : $"; POST /jobs/submit {SubmitLatency}");
}

/// <summary>Submit-to-running on an idle cluster, one job at a time; who took each job and how soon.</summary>
internal sealed record PgIdleRun(string Label, string Side, Latencies ToRunning, Latencies PickedUpSameNode, Latencies PickedUpOtherNode, Latencies? Accepted);

/// <summary>
/// The jobs benchmark on PostgreSQL (--storage postgresql): server nodes as processes of their own on one
/// database, the load from this process. For each topology (1 node, 2 nodes): (a) echo jobs through POST
/// /jobs/submit spread over the nodes, (b) no-op jobs enqueued by the nodes straight into the same
/// Hangfire.PostgreSql storage (same options, same workers), then submit-to-running on the idle cluster;
/// with commits, WAL and statements per job from the database's own statistics.
/// </summary>
internal static class PgBenchmark
{
    private static readonly TimeSpan IdlePause = TimeSpan.FromMilliseconds(50);
    private const int WarmJitMethods = 200;

    public static async Task<PgReport> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var report = new PgReport(options);
        var stats = new PgStats(options.ConnectionString!);
        var adminKey = "bench-" + RandomNumberGenerator.GetHexString(32, lowercase: true);
        var started = new List<NodeProcess>();
        try
        {
            // One at a time: the first applies the migrations and Hangfire's schema.
            started.Add(await NodeProcess.StartAsync("A", options, adminKey, apiOnly: false));
            await stats.PrepareAsync(cancellationToken);
            report.HasStatements = stats.HasStatements;
            string apiKey;
            using (var admin = new ApiClients(started[0].Url).Create(adminKey))
            {
                (_, apiKey) = await ApiClients.CreateKeyAsync(admin, cancellationToken);
            }
            long apiJobs = 0;

            foreach (var count in options.Nodes)
            {
                while (started.Count < count)
                {
                    started.Add(await NodeProcess.StartAsync(((char)('A' + started.Count)).ToString(), options, adminKey, apiOnly: false));
                }
                var cluster = new Cluster(started.Take(count).ToList());
                report.Workers[count] = cluster.Nodes.Sum(n => n.Workers);
                Log($"{count} node(s): {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name} {n.Url} ({n.Workers} workers)"))}");

                async Task<PgRun> Api(int jobs, bool measured)
                {
                    var run = await MeasureAsync(stats, cluster, "api", jobs, measured, () => ApiAsync(cluster, apiKey, jobs, options.Connections, cancellationToken), cancellationToken);
                    apiJobs += jobs;
                    var completed = await stats.CountAsync("SELECT count(*) FROM jobs WHERE status = 'completed'", cancellationToken);
                    if (completed != apiJobs)
                    {
                        throw new InvalidOperationException($"The ledger holds {completed} completed jobs; {apiJobs} were submitted.");
                    }
                    return run;
                }
                Task<PgRun> Raw(int jobs, bool measured) =>
                    MeasureAsync(stats, cluster, "raw", jobs, measured, () => RawAsync(cluster, jobs, options.RawProducers), cancellationToken);

                // Warm until the nodes' JIT is done tiering up (see the embedded bench): at most 6 batches.
                for (var batch = 1; options.WarmupJobs > 0 && batch <= 6; batch++)
                {
                    var api = await Api(options.WarmupJobs, measured: false);
                    var raw = await Raw(options.WarmupJobs, measured: false);
                    Log($"warm-up {batch} (not reported): {api}\n  {raw}");
                    report.WarmupBatches[count] = batch;
                    if (api.JitMethods + raw.JitMethods < WarmJitMethods * count)
                    {
                        break;
                    }
                }
                if (options.Phases.Contains("throughput"))
                {
                    for (var round = 1; round <= options.Rounds; round++)
                    {
                        PgRun? api = null, raw = null;
                        foreach (var side in round % 2 == 1 ? new[] { "api", "raw" } : ["raw", "api"])
                        {
                            var run = side == "api" ? api = await Api(options.Jobs, measured: true) : raw = await Raw(options.Jobs, measured: true);
                            Log($"round {round} {run}");
                        }
                        report.Throughput.Add((round, api!, raw!));
                    }
                }
                if (options.Phases.Contains("idle"))
                {
                    stats.Touched();
                    var label = count == 1 ? "1 node, submitted to A" : $"{count} nodes, submitted to A (any node may take it)";
                    report.Idle.Add(await IdleApiAsync(label, cluster, started[0], apiKey, stats, options.IdleJobs, cancellationToken));
                    apiJobs += options.IdleJobs;
                    report.Idle.Add(await IdleRawAsync(label, cluster, started[0], options.IdleJobs, cancellationToken));
                    Log($"idle {report.Idle[^2]}\n  {report.Idle[^1]}");
                }
            }

            if (options.Phases.Contains("idle") && options.Nodes.Contains(2))
            {
                // Submitted to a node with no workers: every job is taken by another process, woken by NOTIFY.
                stats.Touched();
                started.Add(await NodeProcess.StartAsync("C", options, adminKey, apiOnly: true));
                var cluster = new Cluster(started);
                var label = "2 nodes + API-only node C, submitted to C (always another node takes it)";
                report.Idle.Add(await IdleApiAsync(label, cluster, started[^1], apiKey, stats, options.IdleJobs, cancellationToken));
                report.Idle.Add(await IdleRawAsync(label, cluster, started[^1], options.IdleJobs, cancellationToken));
                Log($"idle {report.Idle[^2]}\n  {report.Idle[^1]}");
            }
            return report;
        }
        finally
        {
            foreach (var node in started)
            {
                await node.DisposeAsync();
            }
        }
    }

    private static async Task<PgRun> MeasureAsync(
        PgStats stats, Cluster cluster, string side, int jobs, bool measured, Func<Task<(TimeSpan Submit, TimeSpan EndToEnd, Latencies? Latency)>> run, CancellationToken cancellationToken)
    {
        var kind = side == "api" ? "tool" : "noop";
        var failed = cluster.Failed(kind);
        PgCounters before = new(0, 0, 0, 0);
        if (measured)
        {
            before = await stats.SettledAsync(cancellationToken);
            await stats.ResetStatementsAsync(cancellationToken);
        }
        else
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
        stats.Touched();
        var jit = await JitMethodsAsync(cluster);
        var vitals = await ClusterVitals.StartAsync(cluster, stats);
        var (submit, endToEnd, latency) = await run();
        var v = await vitals();
        jit = await JitMethodsAsync(cluster) - jit;
        var statements = measured ? await stats.StatementsAsync(cancellationToken) : [];
        var after = measured ? await stats.SettledAsync(cancellationToken) : before;
        return new PgRun(side, cluster.Nodes.Count, jobs, submit, endToEnd, cluster.Failed(kind) - failed, v, latency, after - before, statements, jit);
    }

    private static async Task<long> JitMethodsAsync(Cluster cluster) =>
        (await Task.WhenAll(cluster.Nodes.Select(n => n.AskAsync("jit")))).Sum(a => long.Parse(a[1], CultureInfo.InvariantCulture));

    private static async Task<(TimeSpan, TimeSpan, Latencies?)> ApiAsync(Cluster cluster, string apiKey, int jobs, int connections, CancellationToken cancellationToken)
    {
        var target = cluster.Ended("tool") + jobs;
        var servers = cluster.Nodes.Select(n => new ApiClients(n.Url)).ToList();
        var submits = await HttpBurst.RunAsync(servers, apiKey, jobs, connections, ApiClients.SubmitEchoAsync, cancellationToken);
        var ended = await cluster.WaitForAsync("tool", target, ApiThroughput.Deadline(jobs) * 5);
        return (submits.Elapsed, Stopwatch.GetElapsedTime(submits.StartedAt, ended), submits.Latency);
    }

    /// <summary>Each node enqueues its share into Hangfire itself, as the API's jobs are enqueued by the node that took the POST.</summary>
    private static async Task<(TimeSpan, TimeSpan, Latencies?)> RawAsync(Cluster cluster, int jobs, int producers)
    {
        var target = cluster.Ended("noop") + jobs;
        var shares = cluster.Nodes.Select((n, i) => jobs / cluster.Nodes.Count + (i < jobs % cluster.Nodes.Count ? 1 : 0)).ToList();
        var answers = await Task.WhenAll(cluster.Nodes.Select((n, i) => n.AskAsync($"enqueue {shares[i]} {producers}")));
        var from = answers.Min(a => long.Parse(a[2], CultureInfo.InvariantCulture));
        var to = answers.Max(a => long.Parse(a[3], CultureInfo.InvariantCulture));
        var ended = await cluster.WaitForAsync("noop", target, ApiThroughput.Deadline(jobs) * 5);
        return (Stopwatch.GetElapsedTime(from, to), Stopwatch.GetElapsedTime(from, ended), null);
    }

    private static async Task<PgIdleRun> IdleApiAsync(
        string label, Cluster cluster, NodeProcess submitTo, string apiKey, PgStats stats, int jobs, CancellationToken cancellationToken)
    {
        await SetTraceAsync(cluster, on: true);
        var accepted = new List<long>();
        var same = new List<long>();
        var other = new List<long>();
        var ids = new List<string>();
        using var client = new ApiClients(submitTo.Url).Create(apiKey);
        (await client.GetAsync("/health/live", cancellationToken)).Dispose();
        for (var i = 0; i < jobs; i++)
        {
            var target = cluster.Ended("tool") + 1;
            var t0 = Stopwatch.GetTimestamp();
            var jobId = await ApiClients.SubmitEchoAsync(client, cancellationToken);
            accepted.Add(Stopwatch.GetTimestamp() - t0);
            await cluster.WaitForAsync("tool", target, TimeSpan.FromSeconds(30));
            var (node, at) = TakenBy(cluster, "tool", jobId);
            (node == submitTo ? same : other).Add(at - t0);
            ids.Add(jobId);
            await Task.Delay(IdlePause, cancellationToken);
        }
        await SetTraceAsync(cluster, on: false);
        var toRunning = await LedgerToRunningAsync(stats, ids, cancellationToken);
        return new PgIdleRun(label, "api", Latencies.FromMs(toRunning), Latencies.FromTicks(same), Latencies.FromTicks(other), Latencies.FromTicks(accepted));
    }

    private static async Task<PgIdleRun> IdleRawAsync(string label, Cluster cluster, NodeProcess enqueueOn, int jobs, CancellationToken cancellationToken)
    {
        await SetTraceAsync(cluster, on: true);
        var same = new List<long>();
        var other = new List<long>();
        for (var i = 0; i < jobs; i++)
        {
            var target = cluster.Ended("noop") + 1;
            var answer = await enqueueOn.AskAsync("enqueue-timed");
            await cluster.WaitForAsync("noop", target, TimeSpan.FromSeconds(30));
            var (node, at) = TakenBy(cluster, "noop", answer[2]);
            (node == enqueueOn ? same : other).Add(at - long.Parse(answer[2], CultureInfo.InvariantCulture));
            await Task.Delay(IdlePause, cancellationToken);
        }
        await SetTraceAsync(cluster, on: false);
        var all = same.Concat(other).ToList();
        return new PgIdleRun(label, "raw", Latencies.FromTicks(all), Latencies.FromTicks(same), Latencies.FromTicks(other), Accepted: null);
    }

    private static (NodeProcess Node, long At) TakenBy(Cluster cluster, string kind, string id)
    {
        foreach (var node in cluster.Nodes)
        {
            foreach (var (k, i, at) in node.Performed)
            {
                if (k == kind && i == id)
                {
                    return (node, at);
                }
            }
        }
        throw new InvalidOperationException($"No node reported taking {kind} {id}.");
    }

    private static async Task SetTraceAsync(Cluster cluster, bool on)
    {
        foreach (var node in cluster.Nodes)
        {
            node.Performed.Clear();
            await node.AskAsync(on ? "trace on" : "trace off");
        }
    }

    private static async Task<List<double>> LedgerToRunningAsync(PgStats stats, List<string> ids, CancellationToken cancellationToken)
    {
        var ms = new List<double>();
        foreach (var id in ids)
        {
            // ids are the server's own job_... ids; checked before being put in SQL.
            if (!id.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                throw new InvalidOperationException($"Unexpected job id '{id}'.");
            }
            var micros = await stats.CountAsync($"SELECT (extract(epoch FROM started_at - created_at) * 1000000)::bigint FROM jobs WHERE job_id = '{id}'", cancellationToken);
            ms.Add(micros / 1000.0);
        }
        return ms;
    }

    private static void Log(string line) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
}
