using System.Diagnostics;
using System.Globalization;

namespace AgentCorex.Bench.LoadGenerator;

/// <summary>The figures of one measured window; one tab-separated line per run in the results file.</summary>
internal sealed record LoadResult(
    string Label,
    int Connections,
    double Seconds,
    long Requests,
    long Errors,
    double RequestsPerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    double? ServerCpuUsPerRequest,
    double ClientCpuUsPerRequest,
    double? OtherCpuPercent)
{
    public const string TsvHeader =
        "label\tconnections\tseconds\trequests\terrors\treq_per_s\tp50_ms\tp90_ms\tp99_ms\tmax_ms\tserver_cpu_us_per_req\tclient_cpu_us_per_req\tother_cpu_percent";

    public static LoadResult From(LoadOptions options, TimeSpan elapsed, long[] sortedTicks, long errors, CpuSample before, CpuSample after)
    {
        var requests = sortedTicks.LongLength;
        var perRequest = Math.Max(requests, 1);
        return new LoadResult(
            options.Label,
            options.Connections,
            elapsed.TotalSeconds,
            requests,
            errors,
            requests / elapsed.TotalSeconds,
            Percentile(sortedTicks, 0.50),
            Percentile(sortedTicks, 0.90),
            Percentile(sortedTicks, 0.99),
            requests == 0 ? 0 : ToMs(sortedTicks[^1]),
            after.Server - before.Server is { } server ? server.TotalMicroseconds / perRequest : null,
            (after.Client - before.Client).TotalMicroseconds / perRequest,
            CpuSample.OtherPercent(before, after, elapsed));
    }

    /// <summary>Nearest rank: the smallest latency that at least this share of requests did not exceed.</summary>
    private static double Percentile(long[] sortedTicks, double share)
    {
        if (sortedTicks.Length == 0)
        {
            return 0;
        }
        var rank = (int)Math.Ceiling(share * sortedTicks.Length);
        return ToMs(sortedTicks[Math.Clamp(rank - 1, 0, sortedTicks.Length - 1)]);
    }

    private static double ToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    public string ToTsv() => string.Join('\t',
        Label, Connections, F(Seconds), Requests, Errors, F(RequestsPerSecond), F(P50Ms), F(P90Ms), F(P99Ms), F(MaxMs),
        ServerCpuUsPerRequest is { } s ? F(s) : "", F(ClientCpuUsPerRequest), OtherCpuPercent is { } o ? F(o) : "");

    public static LoadResult FromTsv(string line)
    {
        var f = line.Split('\t');
        return new LoadResult(
            f[0], int.Parse(f[1], CultureInfo.InvariantCulture), D(f[2]), long.Parse(f[3], CultureInfo.InvariantCulture),
            long.Parse(f[4], CultureInfo.InvariantCulture), D(f[5]), D(f[6]), D(f[7]), D(f[8]), D(f[9]),
            f[10].Length == 0 ? null : D(f[10]), D(f[11]), f.Length < 13 || f[12].Length == 0 ? null : D(f[12]));
    }

    public override string ToString() =>
        $"{Label}: {Requests} requests in {Seconds:F1} s over {Connections} connections = {RequestsPerSecond:F0} req/s; "
        + $"latency p50 {P50Ms:F2} ms, p90 {P90Ms:F2} ms, p99 {P99Ms:F2} ms, max {MaxMs:F2} ms; errors {Errors}; "
        + $"CPU per request: server {(ServerCpuUsPerRequest is { } s ? $"{s:F0} µs" : "n/a")}, generator {ClientCpuUsPerRequest:F0} µs; "
        + $"other processes used {(OtherCpuPercent is { } o ? $"{o:F0} %" : "n/a")} of the machine";

    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private static double D(string value) => double.Parse(value, CultureInfo.InvariantCulture);
}
