using System.Globalization;
using System.Text;

namespace AgentCorex.Bench.LoadGenerator;

/// <summary>
/// The side-by-side table of a results file: one row per round (target and baseline measured back to back)
/// and a row of medians, then the verdict against the issue's goal.
/// </summary>
internal static class Comparison
{
    /// <summary>Above this share of the machine used by neither server nor generator, a run was disturbed.</summary>
    private const double BusyMachinePercent = 10;

    public static string Render(IReadOnlyList<LoadResult> results, string target, string baseline, double minRatio, double maxP99Ms, bool goals = true)
    {
        var targets = results.Where(r => r.Label == target).ToList();
        var baselines = results.Where(r => r.Label == baseline).ToList();
        if (targets.Count == 0 || baselines.Count == 0)
        {
            throw new ArgumentException($"The results need runs labelled '{target}' and '{baseline}'.");
        }

        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"| round | {target} req/s | {baseline} req/s | ratio | {target} p50 / p90 / p99 ms | {baseline} p50 / p90 / p99 ms | server CPU µs/req {target} / {baseline} | other CPU % {target} / {baseline} | errors |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (var i = 0; i < Math.Min(targets.Count, baselines.Count); i++)
        {
            text.AppendLine(Row((i + 1).ToString(CultureInfo.InvariantCulture), targets[i], baselines[i]));
        }
        var t = Median(targets, target);
        var b = Median(baselines, baseline);
        text.AppendLine(Row("median", t, b));
        text.AppendLine();

        var ratio = t.RequestsPerSecond / b.RequestsPerSecond;
        if (!goals)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"{target} at {ratio:P1} of {baseline}'s requests/s (medians).");
            return text.ToString();
        }
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Goal 1: {target} at >= {minRatio:P0} of {baseline}'s requests/s: {ratio:P1} -> {(ratio >= minRatio ? "MET" : "NOT MET")}");
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Goal 2: {target} p99 < {maxP99Ms} ms at {t.Connections} connections: {t.P99Ms:F2} ms -> {(t.P99Ms < maxP99Ms ? "MET" : "NOT MET")}");
        var busy = results.Where(r => r.OtherCpuPercent > BusyMachinePercent).ToList();
        if (busy.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"Warning: in {busy.Count} of {results.Count} runs other processes used more than {BusyMachinePercent} % of the machine; those figures understate both servers.");
        }
        return text.ToString();
    }

    private static string Row(string name, LoadResult target, LoadResult baseline) => string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {target.RequestsPerSecond:F0} | {baseline.RequestsPerSecond:F0} | {target.RequestsPerSecond / baseline.RequestsPerSecond:P1} "
        + $"| {target.P50Ms:F2} / {target.P90Ms:F2} / {target.P99Ms:F2} | {baseline.P50Ms:F2} / {baseline.P90Ms:F2} / {baseline.P99Ms:F2} "
        + $"| {F0(target.ServerCpuUsPerRequest)} / {F0(baseline.ServerCpuUsPerRequest)} | {F0(target.OtherCpuPercent)} / {F0(baseline.OtherCpuPercent)} "
        + $"| {target.Errors} / {baseline.Errors} |");

    private static string F0(double? figure) => figure is { } f ? f.ToString("F0", CultureInfo.InvariantCulture) : "n/a";

    /// <summary>Each figure's median over the rounds (so the row need not be one round's).</summary>
    private static LoadResult Median(List<LoadResult> runs, string label) => new(
        label,
        runs[0].Connections,
        Median(runs, r => r.Seconds),
        (long)Median(runs, r => r.Requests),
        runs.Sum(r => r.Errors),
        Median(runs, r => r.RequestsPerSecond),
        Median(runs, r => r.P50Ms),
        Median(runs, r => r.P90Ms),
        Median(runs, r => r.P99Ms),
        Median(runs, r => r.MaxMs),
        runs.All(r => r.ServerCpuUsPerRequest is not null) ? Median(runs, r => r.ServerCpuUsPerRequest!.Value) : null,
        Median(runs, r => r.ClientCpuUsPerRequest),
        runs.All(r => r.OtherCpuPercent is not null) ? Median(runs, r => r.OtherCpuPercent!.Value) : null);

    private static double Median(List<LoadResult> runs, Func<LoadResult, double> figure)
    {
        var sorted = runs.Select(figure).Order().ToArray();
        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }
}
