using AgentCorex.Web.Shutdown;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

public static class JobsExtensions
{
    private static readonly Lock GlobalFiltersGate = new();
    private static bool globalFiltersAdded;

    /// <summary>
    /// Background jobs on Hangfire. On the embedded default Hangfire runs on its in-memory storage, fast, and
    /// the ledger (a SQLite table) is the durable record from which jobs are recovered after a restart; on
    /// PostgreSQL or SQL Server, Hangfire's tables sit beside the ledger and every node shares them.
    /// </summary>
    public static WebApplicationBuilder AddJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<JobsOptions>().BindConfiguration(JobsOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.DefaultTimeoutMs <= o.MaxTimeoutMs, "Jobs:DefaultTimeoutMs must not exceed Jobs:MaxTimeoutMs.")
            .Validate(o => o.CancellationCheckInterval > TimeSpan.Zero && o.CancellationCheckInterval <= TimeSpan.FromMinutes(1), "Jobs:CancellationCheckInterval must be between 0 and 00:01:00.")
            .Validate(o => o.ReconcileInterval > TimeSpan.Zero && o.ReconcileGrace >= TimeSpan.Zero, "Jobs:ReconcileInterval must be positive and Jobs:ReconcileGrace not negative.")
            .Validate(o => o.QueuedRepairGrace >= TimeSpan.FromSeconds(1), "Jobs:QueuedRepairGrace must be at least 00:00:01.")
            .Validate(o => o.ProgressInterval >= TimeSpan.Zero && o.ProgressInterval <= TimeSpan.FromMinutes(1), "Jobs:ProgressInterval must be between 0 and 00:01:00.")
            .Validate(o => o.InvisibilityTimeout >= TimeSpan.FromSeconds(1), "Jobs:InvisibilityTimeout must be at least 00:00:01.")
            .Validate(o => o.ServerHeartbeatInterval >= TimeSpan.FromSeconds(1) && o.ServerHeartbeatInterval <= TimeSpan.FromMinutes(5), "Jobs:ServerHeartbeatInterval must be between 00:00:01 and 00:05:00.")
            // Three heartbeats missed in a row, not one late, before a live server is taken for dead.
            .Validate(o => o.ServerTimeout >= 3 * o.ServerHeartbeatInterval && o.ServerTimeout <= TimeSpan.FromHours(1), "Jobs:ServerTimeout must be at least three times Jobs:ServerHeartbeatInterval and at most 01:00:00.")
            .Validate(o => o.ServerCheckInterval >= TimeSpan.FromSeconds(1) && o.ServerCheckInterval <= o.ServerTimeout, "Jobs:ServerCheckInterval must be between 00:00:01 and Jobs:ServerTimeout.")
            .Validate(o => o.QueuePollInterval >= TimeSpan.FromMilliseconds(50), "Jobs:QueuePollInterval must be at least 00:00:00.05.")
            .Validate(o => o.InMemoryJobExpiration >= TimeSpan.FromMinutes(1) && o.InMemoryJobExpiration <= TimeSpan.FromDays(1), "Jobs:InMemoryJobExpiration must be between 00:01:00 and 1.00:00:00.")
            .Validate(o => o.MaxQueuedPerKey >= 0, "Jobs:MaxQueuedPerKey must be 0 (no bound) or more.")
            .Validate(o => o.InMemoryMaxFinishedJobs is >= 10 and <= 10_000_000, "Jobs:InMemoryMaxFinishedJobs must be between 10 and 10000000.")
            .Validate(o => o.Retention is not { } retention || (retention >= JobRetention.Least && retention <= TimeSpan.FromDays(3650)),
                "Jobs:Retention must be between 1.00:00:00 and 3650.00:00:00, or unset to keep every job: Hangfire keeps a finished job for a day, " +
                "and the dashboard links it to the ledger's row meanwhile.")
            .Validate(o => o.ShutdownTimeout >= TimeSpan.Zero && o.ShutdownTimeout <= TimeSpan.FromHours(1), "Jobs:ShutdownTimeout must be between 00:00:00 and 01:00:00.")
            // A stopping node's storage no longer slides the invisibility of the jobs it still runs (Hangfire.PostgreSql
            // renews it every fifth of the timeout, from a process that stops with the server): with a drain as long as
            // the invisibility, another node would take them over and run them a second time meanwhile.
            .Validate(
                o => o.ShutdownTimeout <= o.InvisibilityTimeout / 2 || StorageOptions.From(builder.Configuration).Provider == StorageProvider.Embedded,
                "Jobs:ShutdownTimeout must be at most half of Jobs:InvisibilityTimeout on a shared database: a stopping node no longer keeps " +
                "the jobs it runs hidden, and another node would take them over while their tools still run.")
            .ValidateOnStart();
        var options = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();

        RaiseThreadPoolFloor(options.MinThreadPoolThreads);
        var embedded = StorageOptions.From(builder.Configuration).Provider == StorageProvider.Embedded;
        // Registered before AddHangfire, which then keeps it: the client and the servers take their filters from it.
        builder.Services.AddSingleton<IJobFilterProvider>(embedded
            ? new AgentCorexJobFilters(JobFilterProviders.Providers, new FinishedJobLimit(options.InMemoryMaxFinishedJobs))
            : new AgentCorexJobFilters(JobFilterProviders.Providers));
        builder.Services.AddSingleton(new HangfireExecutor(ForgetsOnRestart: embedded, embedded ? options.InMemoryMaxFinishedJobs : null));
        builder.Services.AddHangfire((services, hangfire) =>
        {
            hangfire
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                // A run's result, shown on the dashboard, without a .NET type name (see JobRunSummaryJson).
                .UseRecommendedSerializerSettings(settings => settings.Converters.Add(new JobRunSummaryJson()))
                .UseLogProvider(new HangfireOutageLog(new Hangfire.AspNetCore.AspNetCoreLogProvider(services.GetRequiredService<ILoggerFactory>())))
                .UseAgentCorexStorage(services.GetRequiredService<StorageConnection>(), options);
            AddGlobalFiltersOnce(hangfire);
        });
        if (options.WorkerCount is not 0)
        {
            JobServerHost.Add(builder.Services, StorageOptions.From(builder.Configuration).Provider, (_, server) =>
            {
                server.WorkerCount = options.WorkerCount ?? server.WorkerCount;
                // Tool jobs only: webhook deliveries have workers of their own (see AddWebhooks).
                server.Queues = [EnqueuedState.DefaultQueue];
                server.CancellationCheckInterval = options.CancellationCheckInterval;
                ServerLiveness.ApplyTo(server, options);
                ShutdownTimeouts.ApplyTo(server, options.ShutdownTimeout);
            });
        }

        builder.Services.AddScoped<JobLedger>();
        builder.Services.AddScoped<JobTotals>();
        if (StorageOptions.From(builder.Configuration).Provider == StorageProvider.PostgreSql)
        {
            builder.Services.AddSingleton<JobTotalsCompaction>();
            builder.Services.AddHostedService(services => services.GetRequiredService<JobTotalsCompaction>());
        }
        if (options.Retention is not null)
        {
            builder.Services.AddSingleton<JobRetention>();
            builder.Services.AddHostedService(services => services.GetRequiredService<JobRetention>());
        }
        builder.Services.AddScoped<JobView>();
        builder.Services.AddScoped<JobSubmitter>();
        builder.Services.AddSingleton<AbandonedSubmits>();
        builder.Services.AddScoped<RevokedKeyJobs>();
        builder.Services.AddScoped<ToolJob>();
        builder.Services.AddSingleton<JobEstimates>();
        builder.Services.AddSingleton<RunningJobs>();
        builder.Services.AddSingleton<StartRecovery>();
        builder.Services.AddSingleton<HangfireBatchEnqueue>();
        builder.Services.AddSingleton<JobRecovery>();
        builder.Services.AddHostedService(services => services.GetRequiredService<JobRecovery>());
        return builder;
    }

    /// <summary>The pool's floor is process-wide: only ever raised, so several servers in one process (the tests) keep the highest.</summary>
    private static void RaiseThreadPoolFloor(int workerThreads)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (workerThreads > workers)
        {
            ThreadPool.SetMinThreads(workerThreads, completionPorts);
        }
    }

    /// <summary>Hangfire's filters are process-wide; several servers in one process (the tests) must not stack them.</summary>
    private static void AddGlobalFiltersOnce(IGlobalConfiguration hangfire)
    {
        lock (GlobalFiltersGate)
        {
            if (globalFiltersAdded)
            {
                return;
            }
            // A tool with side effects must never run twice on its own; a failed tool is a final answer.
            foreach (var retry in GlobalJobFilters.Filters.Where(f => f.Instance is AutomaticRetryAttribute).ToList())
            {
                GlobalJobFilters.Filters.Remove(retry.Instance);
            }
            hangfire.UseFilter(new AutomaticRetryAttribute { Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Fail, LogEvents = false });
            hangfire.UseFilter(new JobOutcomeStateFilter());
            globalFiltersAdded = true;
        }
    }
}
