using System.Diagnostics;
using System.Globalization;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// What the process and the machine did over a measured stretch. Server and load share this process; the
/// machine's other processes are counted apart, since other work on the same 2 cores moves every figure.
/// The thread pool is watched because SQLite calls block pool threads (Microsoft.Data.Sqlite has no real
/// async I/O, and sleeps 150 ms on a busy database).
/// </summary>
/// <param name="JitMethods">Methods the JIT compiled meanwhile (tiering up included): a run that still compiles many is not warm.</param>
/// <param name="AllocatedBytes">Bytes this process allocated meanwhile (every thread): what its GC has to collect.</param>
/// <param name="ContextSwitches">Times this process's threads gave up or were taken off a core (getrusage), a hand-over between threads costs one or two.</param>
internal sealed record Vitals(TimeSpan Wall, TimeSpan ProcessCpu, double MachineBusyCores, int MaxPoolThreads, long MaxPoolQueue, long JitMethods, TimeSpan JitTime,
    long AllocatedBytes, long ContextSwitches)
{
    /// <summary>Busy cores of this process on average (2.0 = both cores of this machine flat out).</summary>
    public double Cores => ProcessCpu / Wall;

    /// <summary>Busy cores of everything else on the machine.</summary>
    public double OtherCores => Math.Max(0, MachineBusyCores - Cores);

    public double MicrosecondsPer(long items) => ProcessCpu.TotalMicroseconds / Math.Max(1, items);

    /// <summary>Allocated KB and context switches per item, for a run's line.</summary>
    public string CostsPer(long items) => $"{KilobytesPer(items):0.0} KB allocated and {SwitchesPer(items):0.0} context switches per item";

    /// <summary>For a table's cell: allocated KB / context switches, per item.</summary>
    public string CostsCell(long items) => $"{KilobytesPer(items):0.0} / {SwitchesPer(items):0.0}";

    private double KilobytesPer(long items) => AllocatedBytes / 1024.0 / Math.Max(1, items);

    private double SwitchesPer(long items) => (double)ContextSwitches / Math.Max(1, items);

    public override string ToString() =>
        $"this process {Cores:0.00} cores, others {OtherCores:0.00} cores, pool ≤{MaxPoolThreads} threads, ≤{MaxPoolQueue} queued items, JIT {JitMethods} methods in {JitTime.TotalMilliseconds:0} ms";

    /// <summary>Starts watching; the returned function stops and reports.</summary>
    public static Func<Vitals> Start()
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var machine = MachineCpu.Read();
        var wall = Stopwatch.GetTimestamp();
        var jitMethods = System.Runtime.JitInfo.GetCompiledMethodCount();
        var jitTime = System.Runtime.JitInfo.GetCompilationTime();
        var allocated = GC.GetTotalAllocatedBytes();
        var switches = ContextSwitchCount.Read();
        var maxThreads = ThreadPool.ThreadCount;
        var maxQueue = ThreadPool.PendingWorkItemCount;
        var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            while (await timer.WaitForNextTickAsync(CancellationToken.None) && !stop.IsCancellationRequested)
            {
                maxThreads = Math.Max(maxThreads, ThreadPool.ThreadCount);
                maxQueue = Math.Max(maxQueue, ThreadPool.PendingWorkItemCount);
            }
        });
        return () =>
        {
            process.Refresh();
            var elapsed = Stopwatch.GetElapsedTime(wall);
            var processCpu = process.TotalProcessorTime - cpu;
            var machineBusy = MachineCpu.Read().BusyCoresSince(machine);
            stop.Cancel();
            sampler.Wait();
            stop.Dispose();
            return new Vitals(elapsed, processCpu, machineBusy, maxThreads, maxQueue,
                System.Runtime.JitInfo.GetCompiledMethodCount() - jitMethods, System.Runtime.JitInfo.GetCompilationTime() - jitTime,
                GC.GetTotalAllocatedBytes() - allocated, ContextSwitchCount.Read() - switches);
        };
    }

    /// <summary>The first line of /proc/stat: jiffies busy and in total, over all cores.</summary>
    private readonly record struct MachineCpu(long Busy, long Total)
    {
        public static MachineCpu Read()
        {
            try
            {
                var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                    .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
                var idle = fields[3] + fields[4]; // idle + iowait
                var total = fields.Take(8).Sum(); // user nice system idle iowait irq softirq steal
                return new MachineCpu(total - idle, total);
            }
            catch (IOException)
            {
                return default;
            }
        }

        public double BusyCoresSince(MachineCpu start) =>
            Total == start.Total ? 0 : (double)(Busy - start.Busy) / (Total - start.Total) * Environment.ProcessorCount;
    }

    /// <summary>The process's voluntary and involuntary context switches, all threads (getrusage RUSAGE_SELF); 0 where that is not Linux.</summary>
    private static class ContextSwitchCount
    {
        public static long Read()
        {
            if (!OperatingSystem.IsLinux())
            {
                return 0;
            }
            var usage = new RUsage();
            return GetRUsage(0, ref usage) == 0 ? usage.Voluntary + usage.Involuntary : 0;
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
        private static extern int GetRUsage(int who, ref RUsage usage);

        /// <summary>struct rusage on 64-bit Linux: two timevals, then fourteen longs; the last two are nvcsw and nivcsw.</summary>
        [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
        private struct RUsage
        {
            public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
            public long MaxRss, Ixrss, Idrss, Isrss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals;
            public long Voluntary, Involuntary;
        }
    }
}
