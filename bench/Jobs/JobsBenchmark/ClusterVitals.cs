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

    /// <summary>Starts watching; the returned function stops and reports. PostgreSQL's processes are those of this cluster (pg_stat_activity).</summary>
    public static async Task<Func<Task<ClusterVitals>>> StartAsync(Cluster cluster, PgStats stats)
    {
        var postgres = Ticks(await stats.BackendPidsAsync());
        var wall = Stopwatch.GetTimestamp();
        var nodes = cluster.Cpu;
        var bench = Process.GetCurrentProcess().TotalProcessorTime;
        var machine = Machine();
        return async () =>
        {
            var (busy, total) = Machine();
            var elapsed = Stopwatch.GetElapsedTime(wall);
            var nodesCpu = cluster.Cpu - nodes;
            var benchCpu = Process.GetCurrentProcess().TotalProcessorTime - bench;
            var busyCores = total == machine.Total ? 0 : (double)(busy - machine.Busy) / (total - machine.Total) * Environment.ProcessorCount;
            // Backends opened during the run started from zero; those closed during it are lost (pools keep theirs open).
            var postgresTicks = Ticks(await stats.BackendPidsAsync()).Sum(p => p.Value - postgres.GetValueOrDefault(p.Key));
            return new ClusterVitals(elapsed, nodesCpu, TimeSpan.FromMilliseconds(postgresTicks * 10), benchCpu, busyCores);
        };
    }

    /// <summary>user + system time of each process (/proc/PID/stat, in clock ticks of 10 ms).</summary>
    private static Dictionary<int, long> Ticks(IEnumerable<int> pids)
    {
        var ticks = new Dictionary<int, long>();
        foreach (var pid in pids)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks[pid] = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                // it ended meanwhile
            }
        }
        return ticks;
    }

    private static (long Busy, long Total) Machine()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        var total = fields.Take(8).Sum();
        return (total - fields[3] - fields[4], total);
    }
}
