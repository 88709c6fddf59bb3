using System.Diagnostics;

namespace AgentCorex.Bench.LoadGenerator;

/// <summary>
/// CPU time used so far by this process, by the server and by the whole machine. Server and generator share
/// the machine's cores, so CPU time per request says more about the server's cost than requests/s alone, and
/// the machine's total shows whether anything else (a build, another server) was competing for the cores.
/// </summary>
internal readonly record struct CpuSample(TimeSpan Client, TimeSpan? Server, TimeSpan? Machine, int MachineCores)
{
    public static CpuSample Take(int? serverPid)
    {
        TimeSpan? server = null;
        if (serverPid is { } pid)
        {
            using var process = Process.GetProcessById(pid);
            server = process.TotalProcessorTime;
        }
        using var self = Process.GetCurrentProcess();
        var (machine, cores) = MachineBusy();
        return new CpuSample(self.TotalProcessorTime, server, machine, cores);
    }

    /// <summary>The share of the machine's cores that neither the server nor this generator used between two samples.</summary>
    public static double? OtherPercent(CpuSample before, CpuSample after, TimeSpan elapsed)
    {
        if (after.Machine - before.Machine is not { } machine || after.Server - before.Server is not { } server)
        {
            return null;
        }
        var other = machine - server - (after.Client - before.Client);
        return Math.Max(0, other / (elapsed * after.MachineCores) * 100);
    }

    /// <summary>
    /// Busy time of all cores from the first line of /proc/stat (everything but idle and iowait; null off Linux)
    /// and the number of cores it covers.
    /// </summary>
    private static (TimeSpan? Busy, int Cores) MachineBusy()
    {
        const string stat = "/proc/stat";
        if (!File.Exists(stat))
        {
            return (null, Environment.ProcessorCount);
        }
        var lines = File.ReadAllLines(stat);
        var cores = lines.Count(l => l.StartsWith("cpu", StringComparison.Ordinal) && l.Length > 3 && char.IsAsciiDigit(l[3]));
        var fields = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...; the kernel counts in USER_HZ, 100 a second on Linux.
        var ticks = fields.Skip(1).Take(8).Select(long.Parse).ToArray();
        var busy = ticks.Sum() - ticks[3] - ticks[4];
        return (TimeSpan.FromMilliseconds(busy * 10), cores);
    }
}
