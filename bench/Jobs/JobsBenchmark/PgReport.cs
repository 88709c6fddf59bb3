using System.Globalization;
using System.Text;

namespace AgentCorex.Bench.Jobs;

/// <summary>Everything the PostgreSQL bench measured, as markdown.</summary>
internal sealed class PgReport(BenchOptions options)
{
    private const int StatementsShown = 18;

    public Dictionary<int, int> Workers { get; } = [];
    public Dictionary<int, int> WarmupBatches { get; } = [];
    public bool HasStatements { get; set; }
    public List<(int Round, PgRun Api, PgRun Raw)> Throughput { get; } = [];
    public List<PgIdleRun> Idle { get; } = [];

    private readonly StringBuilder md = new();

    public string Render()
    {
        md.Clear();
        if (options.NodeSettings.Count > 0)
        {
            Line($"**What-if run, not the shipped configuration:** every node started with {string.Join(", ", options.NodeSettings)}.");
            Line($"");
        }
        Line($"Nodes: separate processes on one PostgreSQL database; Hangfire workers in all: {string.Join(", ", Workers.Select(w => $"{w.Key} node(s) {w.Value}"))}. Load: {options.Connections} HTTP connections spread over the nodes (API), {options.RawProducers} enqueuing threads in each node (raw). Warm-up per topology, not reported: batches of {options.WarmupJobs} API + {options.WarmupJobs} raw jobs until the nodes' JIT compiled fewer than 200 methods per node in one ({string.Join(", ", WarmupBatches.Select(w => $"{w.Key} node(s): {w.Value} batch(es)"))}).");
        RenderThroughput();
        RenderIdle();
        RenderStatements();
        RenderGoals();
        return md.ToString();
    }

    private void RenderThroughput()
    {
        if (Throughput.Count == 0)
        {
            return;
        }
        Header($"Throughput: {options.Jobs} jobs per side per round, first submit (or enqueue) to the last job ended");
        Line($"| nodes | round | side | jobs/s | end to end s | all submitted after s | POST p50 / p99 ms | commits / job | rollbacks / job | statements / job | WAL bytes / job | WAL flushes / job | CPU µs/job (nodes + pg) | cores: nodes / pg / bench / others | nodes' JIT methods |");
        Line($"| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (round, api, raw) in Throughput)
        {
            foreach (var run in new[] { api, raw })
            {
                var post = run.SubmitLatency is { } l ? $"{l.P50:0.0} / {l.P99:0.0}" : "";
                var v = run.Vitals;
                var statements = HasStatements ? $"{run.Per(run.Statements.Sum(s => s.Calls)):0.0}" : "";
                Line($"| {run.Nodes} | {round} | {run.Side} | {run.JobsPerSecond:0} | {run.EndToEnd.TotalSeconds:0.00} | {run.SubmitPhase.TotalSeconds:0.00} | {post} | {run.Per(run.Db.Commits):0.0} | {run.Per(run.Db.Rollbacks):0.0} | {statements} | {run.Per(run.Db.WalBytes):0} | {run.Per(run.Db.WalSyncs):0.00} | {v.MicrosecondsPer(run.Jobs):0} | {v.NodeCores:0.00} / {v.PostgresCores:0.00} / {v.BenchCores:0.00} / {v.OtherCores:0.00} | {run.JitMethods} |");
            }
        }
        Line($"");
        foreach (var (round, api, raw) in Throughput)
        {
            Line($"- {api.Nodes} node(s), round {round}: API / raw = {api.JobsPerSecond / raw.JobsPerSecond:P1}; {api.Failed} API and {raw.Failed} raw jobs did not complete");
        }
        Line($"");
        Line($"Commits, rollbacks and WAL flushes are pg_stat_database / pg_stat_wal deltas over the run, read 11 s after it (when every backend has flushed its statistics); they include the background (heartbeats, idle polling) of those 11 s.");
    }

    private void RenderIdle()
    {
        if (Idle.Count == 0)
        {
            return;
        }
        Header($"Submit to running on an idle cluster ({options.IdleJobs} jobs per row, one at a time, 50 ms apart)");
        Line($"| topology | side | to running p50 / p95 / p99 ms | picked up, same node: n, p50 / p95 ms | picked up, other node: n, p50 / p95 ms | 202 p50 / p95 ms |");
        Line($"| --- | --- | ---: | ---: | ---: | ---: |");
        foreach (var idle in Idle)
        {
            var accepted = idle.Accepted is { } a ? $"{a.P50:0.00} / {a.P95:0.00}" : "";
            Line($"| {idle.Label} | {idle.Side} | {idle.ToRunning.P50:0.00} / {idle.ToRunning.P95:0.00} / {idle.ToRunning.P99:0.00} | {Picked(idle.PickedUpSameNode)} | {Picked(idle.PickedUpOtherNode)} | {accepted} |");
        }
        Line($"");
        Line($"API \"to running\" is the ledger's started_at - created_at; raw is from the enqueue (in the node named) to a worker beginning the job. \"Picked up\" is from the POST being sent (or the enqueue) to a worker of a node beginning the run, split by whether that node is the one that took the POST (or enqueued).");

        static string Picked(Latencies l) => l.Count == 0 ? "0" : $"{l.Count}: {l.P50:0.00} / {l.P95:0.00}";
    }

    private void RenderStatements()
    {
        if (!HasStatements || Throughput.Count == 0)
        {
            return;
        }
        foreach (var (round, api, raw) in Throughput.Where(t => t.Round == 1))
        {
            foreach (var run in new[] { api, raw })
            {
                Header($"Statements per job, {run.Side}, {run.Nodes} node(s), round 1 (pg_stat_statements, top {StatementsShown} by calls)");
                Line($"| calls / job | ms / job | statement |");
                Line($"| ---: | ---: | --- |");
                foreach (var s in run.Statements.Take(StatementsShown))
                {
                    var query = s.Query.Length > 140 ? s.Query[..140] + "…" : s.Query;
                    Line($"| {run.Per(s.Calls):0.00} | {s.TotalMs / run.Jobs:0.000} | `{query.Replace("|", "\\|", StringComparison.Ordinal)}` |");
                }
                Line($"");
                Line($"All statements: {run.Per(run.Statements.Sum(s => s.Calls)):0.0} per job, {run.Statements.Sum(s => s.TotalMs) / run.Jobs:0.00} ms of execution per job.");
            }
        }
    }

    private void RenderGoals()
    {
        Header("Goals (PostgreSQL)");
        Line($"| goal | measured | met |");
        Line($"| --- | --- | --- |");
        foreach (var nodes in Throughput.Select(t => t.Api.Nodes).Distinct())
        {
            var ratios = Throughput.Where(t => t.Api.Nodes == nodes).Select(t => t.Api.JobsPerSecond / t.Raw.JobsPerSecond).Order().ToList();
            Line($"| API end to end ≥ 80 % of raw Hangfire, {nodes} node(s) | median {Median(ratios):P1} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("P1", CultureInfo.InvariantCulture)))}) | {Met(Median(ratios) >= 0.8)} |");
        }
        foreach (var idle in Idle.Where(i => i.Side == "api"))
        {
            Line($"| submit-to-running p50 < 50 ms: {idle.Label} | {idle.ToRunning.P50:0.00} ms (p95 {idle.ToRunning.P95:0.00} ms) | {Met(idle.ToRunning.P50 < 50)} |");
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
        sorted.Count == 0 ? double.NaN : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
}
