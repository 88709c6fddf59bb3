using System.Diagnostics;
using System.Globalization;
using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// One server node of the PostgreSQL bench (--role node): the real server on a loopback port on the shared
/// database, in a process of its own, driven by the bench over stdin and reporting over stdout. Lines of the
/// protocol start with "@@"; anything else (the server's warnings) is passed through to the bench's log.
/// <list type="bullet">
/// <item>in: <c>enqueue N P</c> (N no-op jobs from P threads), <c>enqueue-timed</c>, <c>jit</c>, <c>trace on|off</c>, <c>quit</c></item>
/// <item>out: <c>ready URL WORKERS</c>, <c>ended KIND COUNT FAILED AT</c>, <c>perform KIND ID AT</c>, <c>enqueued N FROM TO</c></item>
/// </list>
/// Times are Stopwatch timestamps: CLOCK_MONOTONIC on Linux, the same clock in every process of the machine.
/// </summary>
internal static class PgNode
{
    public const string AdminKeyVariable = "AGENTCOREX_BENCH_ADMIN_KEY";

    public static async Task<int> RunAsync(BenchOptions options)
    {
        var adminKey = Environment.GetEnvironmentVariable(AdminKeyVariable) ?? throw new InvalidOperationException($"{AdminKeyVariable} is not set.");
        var counter = new CompletionCounter();
        var trace = new Trace();
        GlobalJobFilters.Filters.Add(counter);
        GlobalJobFilters.Filters.Add(trace);
        var data = Directory.CreateTempSubdirectory("agentcorex-pg-node-");
        try
        {
            using var server = new BenchServer(data.FullName, adminKey, options);
            var url = server.Start();
            Say($"ready {url} {await WorkersAsync(server.Services.GetRequiredService<JobStorage>(), options.ApiOnly)}");
            var hangfire = server.Services.GetRequiredService<IBackgroundJobClient>();
            using var stop = new CancellationTokenSource();
            var reporter = ReportEndsAsync(counter, stop.Token);
            while (await Console.In.ReadLineAsync() is { } line && line != "quit")
            {
                var words = line.Split(' ');
                switch (words[0])
                {
                    case "enqueue":
                        var (from, to) = Enqueue(hangfire, int.Parse(words[1], CultureInfo.InvariantCulture), int.Parse(words[2], CultureInfo.InvariantCulture));
                        Say($"enqueued {words[1]} {from} {to}");
                        break;
                    case "enqueue-timed":
                        var t0 = Stopwatch.GetTimestamp();
                        hangfire.Enqueue<NoopJob>(job => job.RunTimed(t0));
                        Say($"enqueued 1 {t0} {Stopwatch.GetTimestamp()}");
                        break;
                    case "jit":
                        Say($"jit {System.Runtime.JitInfo.GetCompiledMethodCount()} {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:0}");
                        break;
                    case "trace":
                        trace.On = words[1] == "on";
                        Say("traced");
                        break;
                    default:
                        await Console.Error.WriteLineAsync($"node: unknown command '{line}'");
                        break;
                }
            }
            await stop.CancelAsync();
            await reporter;
            return 0;
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    /// <summary>This node's Hangfire workers, as its server announced them in the storage (a moment after start).</summary>
    private static async Task<int> WorkersAsync(JobStorage storage, bool apiOnly)
    {
        for (var i = 0; !apiOnly && i < 100; i++)
        {
            var mine = storage.GetMonitoringApi().Servers().Where(s => s.Name.Contains($":{Environment.ProcessId}:", StringComparison.Ordinal)).ToList();
            if (mine.Count > 0)
            {
                return mine.Sum(s => s.WorkersCount);
            }
            await Task.Delay(100);
        }
        return 0;
    }

    private static (long From, long To) Enqueue(IBackgroundJobClient hangfire, int jobs, int producers)
    {
        var from = Stopwatch.GetTimestamp();
        var sent = 0;
        // Enqueue is synchronous: each producer is a thread of its own.
        var threads = Enumerable.Range(0, producers).Select(_ => new Thread(() =>
        {
            while (Interlocked.Increment(ref sent) <= jobs)
            {
                hangfire.Enqueue<NoopJob>(job => job.Run());
            }
        }) { IsBackground = true }).ToArray();
        Array.ForEach(threads, t => t.Start());
        Array.ForEach(threads, t => t.Join());
        return (from, Stopwatch.GetTimestamp());
    }

    /// <summary>Every 5 ms, the counts that changed, each with the time of its last end (so the bench's figure is exact).</summary>
    private static async Task ReportEndsAsync(CompletionCounter counter, CancellationToken cancellationToken)
    {
        long tools = 0, noops = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Report("tool", counter.Tools, ref tools);
                Report("noop", counter.Noops, ref noops);
            }
        }
        catch (OperationCanceledException)
        {
        }

        static void Report(string kind, Completions completions, ref long last)
        {
            var at = completions.LastEndedAt;
            var ended = completions.Ended;
            if (ended != last)
            {
                last = ended;
                Say($"ended {kind} {ended} {completions.Failed} {Math.Max(at, completions.LastEndedAt)}");
            }
        }
    }

    private static void Say(string line) => Console.Out.WriteLine("@@ " + line);

    /// <summary>When on (the idle phase only), which job each run is and when a worker of this node took it.</summary>
    private sealed class Trace : IServerFilter
    {
        public volatile bool On;

        public void OnPerforming(PerformingContext context)
        {
            if (!On)
            {
                return;
            }
            var at = Stopwatch.GetTimestamp();
            var job = context.BackgroundJob.Job;
            var id = job.Args.Count == 0 ? "-" : Convert.ToString(job.Args[0], CultureInfo.InvariantCulture);
            var kind = job.Type == typeof(NoopJob) ? "noop" : "tool";
            Say($"perform {kind} {id} {at}");
        }

        public void OnPerformed(PerformedContext context)
        {
        }
    }
}
