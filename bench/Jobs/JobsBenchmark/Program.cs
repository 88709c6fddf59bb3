using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

// Not top-level statements: those would declare a Program of their own beside the server's.
internal static class Entry
{
    private const int MaxWarmupBatches = 8;
    private const int WarmJitMethods = 100;

    public static async Task<int> Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return 64;
        }
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        if (options.Role == "node")
        {
            return await PgNode.RunAsync(options);
        }
        if (options.Storage == "postgresql")
        {
            var pg = (await PgBenchmark.RunAsync(options, cancel.Token)).Render();
            Console.WriteLine();
            Console.Write(pg);
            if (options.Out is { } pgFile)
            {
                await File.WriteAllTextAsync(pgFile, pg);
            }
            return 0;
        }
        var data = Directory.CreateTempSubdirectory("agentcorex-jobs-bench-");
        try
        {
            var report = await RunAsync(options, data.FullName, cancel.Token);
            var markdown = report.Render();
            Console.WriteLine();
            Console.Write(markdown);
            if (options.Out is { } file)
            {
                await File.WriteAllTextAsync(file, markdown);
            }
            return 0;
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static async Task<BenchReport> RunAsync(BenchOptions options, string dataDirectory, CancellationToken cancellationToken)
    {
        if (options.MinThreads is { } minThreads)
        {
            ThreadPool.GetMinThreads(out _, out var io);
            ThreadPool.SetMinThreads(minThreads, Math.Max(io, minThreads));
        }
        var report = new BenchReport(options);
        var counter = new CompletionCounter();
        GlobalJobFilters.Filters.Add(counter);
        var observer = options.ObserveLedger ? new LedgerObserver() : null;

        using var server = new BenchServer(dataDirectory, "bench-" + RandomNumberGenerator.GetHexString(32, lowercase: true), options, observer);
        var url = server.Start();
        var clients = new ApiClients(url);
        string keyId, apiKey;
        using (var admin = clients.Create(server.AdminKey))
        {
            (keyId, apiKey) = await ApiClients.CreateKeyAsync(admin, cancellationToken);
        }
        var hangfire = server.Services.GetRequiredService<IBackgroundJobClient>();
        report.HangfireWorkers = server.Services.GetRequiredService<JobStorage>().GetMonitoringApi().Servers().Sum(s => s.WorkersCount);
        report.ServerBusyTimeout = await ReadBusyTimeoutAsync(server.Services, cancellationToken);
        Log($"server on {url} with {report.HangfireWorkers} Hangfire workers, SQLite busy_timeout {report.ServerBusyTimeout} ms; database {server.DatabasePath}");

        var api = new ApiThroughput(clients, apiKey, counter, async (expected, ct) => await LedgerCompletions.UntilAsync(server.Services, LedgerCompletions.ApiJobs, expected, ct));
        var raw = new RawHangfireThroughput(hangfire, counter);
        var apiJobs = 0L;
        async Task<ThroughputRun> Api(int jobs, string label)
        {
            var before = observer?.Snapshot();
            var opensBefore = observer?.Opens ?? 0;
            var run = await api.RunAsync(jobs, options.Connections, cancellationToken);
            apiJobs += jobs;
            await CheckLedgerAsync(server.Services, apiJobs, cancellationToken);
            if (observer is not null && !label.StartsWith("warm-up", StringComparison.Ordinal))
            {
                report.LedgerTraffic.Add(LedgerTraffic.Between(label, jobs, before!, observer.Snapshot(), observer.Opens - opensBefore));
            }
            return run;
        }
        Task<ThroughputRun> Raw(int jobs) => raw.RunAsync(jobs, options.RawProducers, cancellationToken);

        // Warm until the JIT is done tiering up: thousands of methods (EF Core, ASP.NET Core, Hangfire) are
        // recompiled at tier 1 only after use, and a run that still pays for that measures start-up, not the server.
        for (var batch = 1; options.WarmupJobs > 0 && batch <= MaxWarmupBatches; batch++)
        {
            var jit = System.Runtime.JitInfo.GetCompiledMethodCount();
            Log($"warm-up {batch} (not reported): " + await Api(options.WarmupJobs, $"warm-up {batch}"));
            Log($"warm-up {batch} (not reported): " + await Raw(options.WarmupJobs));
            await SettleAsync();
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - jit;
            report.WarmupBatches = batch;
            if (compiled < WarmJitMethods)
            {
                break;
            }
        }

        if (options.Phases.Contains("idle"))
        {
            var idle = new IdleLatency(server.Services, counter);
            using (var client = clients.Create(apiKey))
            {
                report.IdleApi = await idle.ApiAsync(client, options.IdleJobs, cancellationToken);
                apiJobs += options.IdleJobs;
            }
            Log("idle " + report.IdleApi);
            report.IdleRaw = await idle.RawAsync(hangfire, options.IdleJobs, cancellationToken);
            Log("idle " + report.IdleRaw);
        }

        if (options.Phases.Contains("throughput"))
        {
            for (var round = 1; round <= options.Rounds; round++)
            {
                // Alternate which side goes first, so neither always meets a fresher or a fuller process.
                ThroughputRun? apiRun = null, rawRun = null;
                foreach (var side in round % 2 == 1 ? new[] { "api", "raw" } : ["raw", "api"])
                {
                    await SettleAsync();
                    var run = side == "api" ? apiRun = await Api(options.Jobs, $"round {round}") : rawRun = await Raw(options.Jobs);
                    Log($"round {round} {run}");
                }
                report.Throughput.Add((round, apiRun!, rawRun!));
            }
        }

        if (options.Phases.Contains("ablations"))
        {
            await RunAblationsAsync(options, server, clients, apiKey, counter, report, cancellationToken);
        }

        if (options.Phases.Contains("get"))
        {
            await SettleAsync();
            report.Seed = await LedgerSeed.RunAsync(server.DatabasePath, keyId, options.LedgerRows, options.QueuedRows, cancellationToken);
            Log($"seeded the ledger: {report.Seed.LedgerRows} rows now, in {report.Seed.Took.TotalSeconds:0.0} s");
            var gets = new JobStatusLoad(clients, apiKey);
            // At the bench's concurrency, and at one connection: the second is the request's own time, without queueing.
            foreach (var (kind, ids) in new[] { ("completed", report.Seed.Completed), ($"queued (position among {options.QueuedRows})", report.Seed.Queued) })
            {
                foreach (var connections in options.Connections == 1 ? [1] : new[] { options.Connections, 1 })
                {
                    if (ids.Count == 0)
                    {
                        continue;
                    }
                    await SettleAsync();
                    report.Gets.Add(await gets.RunAsync(kind, ids, connections, options.GetWarmup, options.GetDuration, cancellationToken));
                    Log("GET " + report.Gets[^1]);
                }
            }
        }
        if (options.Phases.Contains("memory"))
        {
            foreach (var mix in options.MemoryMixes)
            {
                report.Memory.Add(await HangfireMemory.RunAsync(mix, options.Jobs, options.Connections, clients, apiKey, server.Services, cancellationToken));
                Log("memory " + report.Memory[^1]);
            }
        }
        if (options.Phases.Contains("list"))
        {
            await SettleAsync();
            report.ListingSeedTook = await ListingLoad.SeedAsync(server.DatabasePath, keyId, options.ListRows, cancellationToken);
            report.ListingLedgerRows = await CountLedgerAsync(server.Services, cancellationToken);
            Log($"seeded the ledger for listing: {report.ListingLedgerRows} rows now, in {report.ListingSeedTook.TotalSeconds:0.0} s");
            foreach (var (caller, key) in new[] { ("the key", apiKey), ("admin", server.AdminKey) })
            {
                foreach (var query in ListingLoad.Queries)
                {
                    report.Listings.Add(await ListingLoad.RunAsync(clients, caller, key, query, options.ListRequests, cancellationToken));
                    Log($"GET /jobs{query} as {caller}: total {report.Listings[^1].Total}, {report.Listings[^1].Latency}");
                }
            }
        }
        return report;
    }

    private static async Task<long> CountLedgerAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.LongCountAsync(cancellationToken);
    }

    private static async Task RunAblationsAsync(
        BenchOptions options, BenchServer server, ApiClients clients, string apiKey, CompletionCounter counter, BenchReport report, CancellationToken cancellationToken)
    {
        var ledger = new LedgerAblation(server.Services, server.DatabasePath);
        var c = options.Connections;
        // Each variant first runs a fifth of its count unmeasured: a new DbContext configuration, for one,
        // has its own EF Core model and queries to build and JIT.
        async Task Add(Func<int, Task<AblationRun>> run)
        {
            await run(Math.Max(1, options.AblationJobs / 5));
            await SettleAsync();
            report.Ablations.Add(await run(options.AblationJobs));
            Log("ablation " + report.Ablations[^1]);
        }
        Func<int, Task<AblationRun>> Http(string name, string key, Func<HttpClient, CancellationToken, Task> send) => async n =>
        {
            var burst = await HttpBurst.RunAsync(clients, key, n, c, send, cancellationToken);
            return new AblationRun(name, n, burst.Elapsed, burst.Latency, SlowWrites: 0, burst.Vitals);
        };

        await Add(n => ledger.RawSqliteAsync(n, cancellationToken));
        await Add(n => ledger.RunAsync("ledger via JobLedger, 1 job at a time (its writer thread, no commit shared)", n, 1, ledger.Server, cancellationToken));
        await Add(n => ledger.RunAsync($"{BenchReport.LedgerAblation} (its writer thread, group commits), {c} jobs at a time", n, c, ledger.Server, cancellationToken));
        var inProcess = new InProcessJobs(server.Services, counter);
        await Add(n => inProcess.RunAsync($"{BenchReport.SubmitterAblation}, no HTTP ({c} callers): ledger + Hangfire + ToolJob, to completed", n, c, cancellationToken));
        await Add(Http($"{BenchReport.HttpFloorAblation}, {c} connections", apiKey, async (client, ct) => (await client.GetAsync("/health/live", ct)).Dispose()));
        await Add(Http($"{BenchReport.ExecuteAblation} (HTTP, auth, MVC, tool; no ledger, no Hangfire), {c} connections", server.AdminKey, ApiClients.ExecuteEchoAsync));
    }

    private static async Task<string> ReadBusyTimeoutAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = "PRAGMA busy_timeout;";
            return Convert.ToString(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture) ?? "?";
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>The ledger agrees with what the counter saw: every API job so far is completed there.</summary>
    private static async Task CheckLedgerAsync(IServiceProvider services, long expected, CancellationToken cancellationToken)
    {
        var completed = await LedgerCompletions.CountAsync(services, LedgerCompletions.ApiJobs, cancellationToken);
        if (completed != expected)
        {
            throw new InvalidOperationException($"The ledger holds {completed} completed jobs; {expected} were submitted.");
        }
    }

    /// <summary>Between measured runs: the last states are written, and each run starts on a collected heap.</summary>
    private static async Task SettleAsync()
    {
        await Task.Delay(TimeSpan.FromSeconds(1));
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static void Log(string line) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
}
