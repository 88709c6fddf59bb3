using System.Globalization;
using System.Text;

namespace AgentCorex.Bench.Jobs;

/// <summary>Everything one run measured, rendered as the markdown that run.sh prints and keeps.</summary>
internal sealed class BenchReport(BenchOptions options)
{
    public int HangfireWorkers { get; set; }
    public int WarmupBatches { get; set; }
    public string ServerBusyTimeout { get; set; } = "?";
    public List<(int Round, ThroughputRun Api, ThroughputRun Raw)> Throughput { get; } = [];
    public List<LedgerTraffic> LedgerTraffic { get; } = [];
    public IdleLatencyRun? IdleApi { get; set; }
    public IdleLatencyRun? IdleRaw { get; set; }
    public List<AblationRun> Ablations { get; } = [];
    public SeededJobs? Seed { get; set; }
    public List<JobStatusRun> Gets { get; } = [];
    public TimeSpan ListingSeedTook { get; set; }
    public long ListingLedgerRows { get; set; }
    public List<ListingRun> Listings { get; } = [];
    public List<MemoryRun> Memory { get; } = [];

    private readonly StringBuilder md = new();

    public string Render()
    {
        md.Clear();
        if (options.IsWhatIf)
        {
            Line($"**What-if run, not the shipped configuration:** {(options.NoWriteGate ? "the server's EF Core writes not queued behind its WriteGate (the SQLite writer thread keeps it). " : "")}{(options.SqliteBusyTimeoutMs is { } b ? $"PRAGMA busy_timeout={b} set on the server's SQLite connections after its own pragmas. " : "")}{(options.MinThreads is { } m ? $"ThreadPool.SetMinThreads({m}). " : "")}");
            Line($"");
        }
        Line($"Hangfire workers: {HangfireWorkers}; the server's SQLite busy_timeout: {ServerBusyTimeout} ms; load: {options.Connections} HTTP connections (API), {options.RawProducers} enqueuing threads (raw).");
        Line($"Warm-up: {WarmupBatches} batch(es) of {options.WarmupJobs} API + {options.WarmupJobs} raw jobs, until one made the JIT compile fewer than 100 methods.");
        RenderThroughput();
        RenderIdle();
        RenderAblations();
        RenderCeilings();
        RenderGets();
        RenderListings();
        RenderMemory();
        RenderGoals();
        return md.ToString();
    }

    private void RenderMemory()
    {
        if (Memory.Count == 0)
        {
            return;
        }
        Header($"Heap held by Hangfire.InMemory's finished jobs: {options.Jobs} API jobs per mix");
        Line($"| jobs | ended | finished jobs Hangfire kept | live heap with them MB | once dropped MB | held MB | bytes per finished Hangfire job |");
        Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var run in Memory)
        {
            Line($"| {run.Mix} | {run.Jobs} | {run.Held} | {run.LiveBefore / 1e6:0.0} | {run.LiveAfter / 1e6:0.0} | {run.HeldBytes / 1e6:0.0} | {run.BytesPerHeldJob:0} |");
        }
        Line($"");
    }

    private void RenderThroughput()
    {
        if (Throughput.Count == 0)
        {
            return;
        }
        Header($"Throughput: {options.Jobs} jobs per side per round, first submit (or enqueue) to the last job ended");
        Line($"| round | side | jobs/s | end to end s | all submitted after s | submits/s | POST /jobs/submit p50 / p99 ms | CPU µs/job | KB allocated / context switches per job | busy cores: bench / others | pool threads / queue max | JIT methods / ms |");
        Line($"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (round, api, raw) in Throughput)
        {
            foreach (var run in new[] { api, raw })
            {
                var post = run.SubmitLatency is { } l ? $"{l.P50:0.0} / {l.P99:0.0}" : "";
                var v = run.Vitals;
                Line($"| {round} | {run.Side} | {run.JobsPerSecond:0} | {run.EndToEnd.TotalSeconds:0.00} | {run.SubmitPhase.TotalSeconds:0.00} | {run.SubmitsPerSecond:0} | {post} | {v.MicrosecondsPer(run.Jobs):0} | {v.CostsCell(run.Jobs)} | {v.Cores:0.00} / {v.OtherCores:0.00} | {v.MaxPoolThreads} / {v.MaxPoolQueue} | {v.JitMethods} / {v.JitTime.TotalMilliseconds:0} |");
            }
        }
        Line($"");
        foreach (var (round, api, raw) in Throughput)
        {
            Line($"- round {round}: API / raw = {api.JobsPerSecond / raw.JobsPerSecond:P1}; {api.Failed} API and {raw.Failed} raw jobs did not complete");
        }
        if (LedgerTraffic.Count > 0)
        {
            Line($"");
            Line($"SQL the server sent per API job (--observe-ledger; a statement ≥ 140 ms met a locked database and slept 150 ms in Microsoft.Data.Sqlite):");
            Line($"");
            foreach (var traffic in LedgerTraffic)
            {
                Line($"- {traffic}");
            }
        }
    }

    private void RenderIdle()
    {
        if (IdleApi is null && IdleRaw is null)
        {
            return;
        }
        Header($"Submit to running on an idle server ({options.IdleJobs} jobs, one at a time)");
        Line($"| side | to running p50 / p90 / p99 ms | picked up by a worker p50 / p99 ms | to end p50 / p99 ms | 202 answered p50 / p99 ms |");
        Line($"| --- | ---: | ---: | ---: | ---: |");
        foreach (var idle in new[] { IdleApi, IdleRaw }.OfType<IdleLatencyRun>())
        {
            var accepted = idle.Accepted is { } a ? $"{a.P50:0.00} / {a.P99:0.00}" : "";
            Line($"| {idle.Side} | {idle.ToRunning.P50:0.00} / {idle.ToRunning.P90:0.00} / {idle.ToRunning.P99:0.00} | {idle.PickedUp.P50:0.00} / {idle.PickedUp.P99:0.00} | {idle.ToEnd.P50:0.00} / {idle.ToEnd.P99:0.00} | {accepted} |");
        }
        Line($"");
        Line($"API \"to running\" is the ledger's started_at - created_at; raw is from the enqueue to the job's method running. The other columns are timed from the POST being sent (or the enqueue).");
    }

    private void RenderAblations()
    {
        if (Ablations.Count == 0)
        {
            return;
        }
        Header($"Where an API job's cost goes: ablations in the same process, {options.AblationJobs} jobs or requests each");
        Line($"| what | per s | CPU µs each | KB allocated / context switches each | write (or request) p50 / p99 ms | writes ≥ 140 ms | busy cores: bench / others | pool threads / queue max |");
        Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var a in Ablations)
        {
            var v = a.Vitals;
            Line($"| {a.Name} | {a.JobsPerSecond:0} | {v.MicrosecondsPer(a.Jobs):0} | {v.CostsCell(a.Jobs)} | {a.WriteLatency.P50:0.00} / {a.WriteLatency.P99:0.00} | {a.SlowWrites} | {v.Cores:0.00} / {v.OtherCores:0.00} | {v.MaxPoolThreads} / {v.MaxPoolQueue} |");
        }
    }

    /// <summary>How the ablations that <see cref="RenderCeilings"/> reads are named (the run adds its connections).</summary>
    public const string HttpFloorAblation = "HTTP floor: GET /health/live", ExecuteAblation = "POST /execute_tool echo",
        LedgerAblation = "ledger via JobLedger as configured", SubmitterAblation = "echo jobs via the server's JobSubmitter";

    /// <summary>
    /// What the 50 % goal leaves room for, from this run's own parts: an API job is at least one HTTP request and one
    /// Hangfire job, so no API job can run at more than raw ÷ (request + raw) of raw Hangfire's rate. The last row is
    /// the server's own job path (<see cref="SubmitterAblation"/>) less its ledger traffic (<see cref="LedgerAblation"/>),
    /// with a request: what an API job would cost were its three ledger writes free.
    /// </summary>
    private void RenderCeilings()
    {
        var floor = Ablations.FirstOrDefault(a => a.Name.StartsWith(HttpFloorAblation, StringComparison.Ordinal));
        var execute = Ablations.FirstOrDefault(a => a.Name.StartsWith(ExecuteAblation, StringComparison.Ordinal));
        if (Throughput.Count == 0 || floor is null || execute is null)
        {
            return;
        }
        var raw = Median([.. Throughput.Select(t => t.Raw.Vitals.MicrosecondsPer(t.Raw.Jobs)).Order()]);
        var request = floor.Vitals.MicrosecondsPer(floor.Jobs);
        var checkedRequest = execute.Vitals.MicrosecondsPer(execute.Jobs);
        Header("What 50 % of raw leaves room for (CPU of the whole process, from this run's parts)");
        Line($"| an API job at best | CPU µs per job | share of raw Hangfire's rate |");
        Line($"| --- | ---: | ---: |");
        Line($"| a raw Hangfire job (median of the rounds) | {raw:0} | 100 % |");
        Line($"| an HTTP request that does nothing ({request:0} µs) plus a raw job | {request + raw:0} | {raw / (request + raw):P1} |");
        Line($"| POST /execute_tool's request: the contract's checks and the tool ({checkedRequest:0} µs), plus a raw job | {checkedRequest + raw:0} | {raw / (checkedRequest + raw):P1} |");
        var submitter = Ablations.FirstOrDefault(a => a.Name.StartsWith(SubmitterAblation, StringComparison.Ordinal));
        var ledger = Ablations.FirstOrDefault(a => a.Name.StartsWith(LedgerAblation, StringComparison.Ordinal));
        if (submitter is not null && ledger is not null)
        {
            var unledgered = submitter.Vitals.MicrosecondsPer(submitter.Jobs) - ledger.Vitals.MicrosecondsPer(ledger.Jobs);
            Line($"| the server's own job path (JobSubmitter, Hangfire, ToolJob) less its ledger traffic ({unledgered:0} µs), plus POST /execute_tool's request | {unledgered + checkedRequest:0} | {raw / (unledgered + checkedRequest):P1} |");
        }
        Line($"");
        Line($"No row has a ledger write: the last is what an API job would cost were its three durable writes free.");
    }

    private void RenderGets()
    {
        if (Seed is not { } seed)
        {
            return;
        }
        Header($"GET /jobs/{{id}} with {seed.LedgerRows} jobs in the ledger ({options.GetDuration.TotalSeconds:0} s measured after {options.GetWarmup.TotalSeconds:0} s warm-up, closed loop)");
        Line($"| jobs asked for | connections | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | CPU µs/req | busy cores: bench / others | pool threads / queue max |");
        Line($"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var get in Gets)
        {
            var v = get.Vitals;
            Line($"| {get.Label} | {get.Connections} | {get.RequestsPerSecond:0} | {get.Latency.P50:0.00} | {get.Latency.P90:0.00} | {get.Latency.P99:0.00} | {get.Latency.Max:0.00} | {get.Errors} | {v.MicrosecondsPer(get.Requests):0} | {v.Cores:0.00} / {v.OtherCores:0.00} | {v.MaxPoolThreads} / {v.MaxPoolQueue} |");
        }
        Line($"");
        Line($"Seeded in {seed.Took.TotalSeconds:0.0} s: {options.LedgerRows} finished jobs over 30 days and {options.QueuedRows} queued ones, over 4 keys; the bench key owns {seed.Completed.Count} and {seed.Queued.Count} of them, asked for at random.");
    }

    private void RenderListings()
    {
        if (Listings.Count == 0)
        {
            return;
        }
        Header($"GET /jobs with {ListingLedgerRows} jobs in the ledger ({options.ListRequests} requests per query, one at a time, after 3 unmeasured)");
        Line($"| caller | query | total | p50 ms | p90 ms | p99 ms | max ms |");
        Line($"| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var run in Listings)
        {
            var l = run.Latency;
            Line($"| {run.Caller} | `/jobs{run.Query}` | {run.Total} | {l.P50:0.00} | {l.P90:0.00} | {l.P99:0.00} | {l.Max:0.00} |");
        }
        Line($"");
        Line($"Seeded in {ListingSeedTook.TotalSeconds:0.0} s: {options.ListRows} finished jobs over 30 days, {ListingLoad.OwnedOneIn - 1} in {ListingLoad.OwnedOneIn} of them the bench key's (the rest three other keys'): echo mostly, wait 1 in 100, fail 1 in 1,000; completed mostly, failed 1 in 50, canceled 1 in 1,000. Each answer counts its total.");
    }

    private void RenderGoals()
    {
        Header(options.IsWhatIf ? "Goals (what-if run: not figures of the shipped configuration)" : "Goals (the embedded default)");
        Line($"| goal | measured | met |");
        Line($"| --- | --- | --- |");
        if (Throughput.Count > 0)
        {
            var ratios = Throughput.Select(t => t.Api.JobsPerSecond / t.Raw.JobsPerSecond).Order().ToList();
            var rates = Throughput.Select(t => t.Api.JobsPerSecond).Order().ToList();
            Line($"| API end to end ≥ 50 % of raw Hangfire | median {Median(ratios):P1} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("P1", CultureInfo.InvariantCulture)))}) | {Met(Median(ratios) >= 0.5)} |");
            Line($"| API end to end ≥ 1,000 jobs/s | median {Median(rates):0} jobs/s (rounds: {string.Join(", ", rates.Select(r => r.ToString("0", CultureInfo.InvariantCulture)))}) | {Met(Median(rates) >= 1000)} |");
        }
        if (IdleApi is { } idle)
        {
            Line($"| submit-to-running p50 < 20 ms, idle | {idle.ToRunning.P50:0.00} ms (p99 {idle.ToRunning.P99:0.00} ms) | {Met(idle.ToRunning.P50 < 20)} |");
        }
        if (Seed is { } seed)
        {
            foreach (var get in Gets.Where(g => g.Label == "completed"))
            {
                Line($"| GET /jobs/{{id}} p99 < 10 ms, {seed.LedgerRows} jobs in the ledger, {get.Connections} connection(s) | {get.Latency.P99:0.00} ms at {get.RequestsPerSecond:0} req/s | {Met(get.Latency.P99 < 10)} |");
            }
        }
    }

    private void Header(string title)
    {
        Line($"");
        md.Append("## ").AppendLine(title);
        Line($"");
    }

    private void Line(FormattableString text) => md.AppendLine(text.ToString(CultureInfo.InvariantCulture));

    private static string Met(bool met) => met ? "yes" : "**no**";

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
