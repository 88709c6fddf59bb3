using System.Globalization;

namespace AgentCorex.Bench.Jobs;

/// <summary>What one API run sent to SQLite through EF Core, per job (from <see cref="LedgerObserver"/>).</summary>
internal sealed record LedgerTraffic(string Label, int Jobs, IReadOnlyList<(string Kind, double PerJob, double MeanMs, long Slow)> Statements, double OpensPerJob)
{
    public static LedgerTraffic Between(
        string label, int jobs,
        IReadOnlyDictionary<string, (long Count, long Slow, TimeSpan Total)> before,
        IReadOnlyDictionary<string, (long Count, long Slow, TimeSpan Total)> after,
        long opens)
    {
        var rows = after.Select(a =>
        {
            var b = before.TryGetValue(a.Key, out var x) ? x : default;
            var count = a.Value.Count - b.Count;
            return (Kind: a.Key, PerJob: (double)count / jobs, MeanMs: count == 0 ? 0 : (a.Value.Total - b.Total).TotalMilliseconds / count, Slow: a.Value.Slow - b.Slow);
        }).Where(r => r.PerJob > 0).OrderBy(r => r.Kind, StringComparer.Ordinal).ToList();
        return new LedgerTraffic(label, jobs, rows, (double)opens / jobs);
    }

    public override string ToString() =>
        $"{Label}: per job {string.Join(", ", Statements.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Kind} ×{s.PerJob:0.00} (mean {s.MeanMs:0.00} ms, {s.Slow} slept ≥ 140 ms)")))}; " +
        string.Create(CultureInfo.InvariantCulture, $"{OpensPerJob:0.00} connection opens (each runs the server's PRAGMAs too)");
}
