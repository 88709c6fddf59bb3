using System.Diagnostics;

namespace AgentCorex.Bench.Jobs;

/// <summary>Latency figures in milliseconds, nearest-rank percentiles.</summary>
internal sealed record Latencies(int Count, double P50, double P90, double P99, double Max, double P95 = double.NaN)
{
    public static Latencies FromMs(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return new Latencies(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }
        double At(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Latencies(sorted.Length, At(0.50), At(0.90), At(0.99), sorted[^1], At(0.95));
    }

    public static Latencies FromTicks(IEnumerable<long> stopwatchTicks) =>
        FromMs(stopwatchTicks.Select(t => t * 1000.0 / Stopwatch.Frequency));

    public override string ToString() => $"p50 {P50:0.00} ms, p90 {P90:0.00} ms, p99 {P99:0.00} ms, max {Max:0.00} ms (n={Count})";
}
