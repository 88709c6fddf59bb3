using System.Diagnostics;
using System.Globalization;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Where the machine's cores went over a measured stretch of the PostgreSQL bench: the node processes, the
/// PostgreSQL server's processes, this load-generating process, and everything else (other people's work).
/// </summary>
internal sealed record ClusterVitals(TimeSpan Wall, TimeSpan Nodes, TimeSpan Postgres, TimeSpan Bench, double MachineBusyCores)
{
    public double NodeCores => Nodes / Wall;

    public double PostgresCores => Postgres / Wall;

    public double BenchCores => Bench / Wall;

    public double OtherCores => Math.Max(0, MachineBusyCores - NodeCores - PostgresCores - BenchCores);

    /// <summary>CPU of nodes and PostgreSQL together, per job.</summary>
    public double MicrosecondsPer(long jobs) => (Nodes + Postgres).TotalMicroseconds / Math.Max(1, jobs);

    public override string ToString() =>
        $"cores: nodes {NodeCores:0.00}, postgres {PostgresCores:0.00}, bench {BenchCores:0.00}, others {OtherCores:0.00} (machine {MachineBusyCores:0.00})";

    public static Func<ClusterVitals> Start(Cluster cluster)
    {
        var wall = Stopwatch.GetTimestamp();
        var nodes = cluster.Cpu;
        var postgres = PostgresCpu();
        var bench = Process.GetCurrentProcess().TotalProcessorTime;
        var machine = Machine();
        return () =>
        {
            var (busy, total) = Machine();
            var busyCores = total == machine.Total ? 0 : (double)(busy - machine.Busy) / (total - machine.Total) * Environment.ProcessorCount;
            return new ClusterVitals(Stopwatch.GetElapsedTime(wall), cluster.Cpu - nodes, PostgresCpu() - postgres,
                Process.GetCurrentProcess().TotalProcessorTime - bench, busyCores);
        };
    }

    /// <summary>user + system time of every process named postgres (/proc/PID/stat, in clock ticks of 10 ms).</summary>
    private static TimeSpan PostgresCpu()
    {
        long ticks = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                if (open < 0 || close < 0 || stat[(open + 1)..close] != "postgres")
                {
                    continue;
                }
                var fields = stat[(close + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // not a process, or it ended meanwhile
            }
        }
        return TimeSpan.FromMilliseconds(ticks * 10);
    }

    private static (long Busy, long Total) Machine()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Take(8).Sum();
        return (total - fields[3] - fields[4], total);
    }
}
