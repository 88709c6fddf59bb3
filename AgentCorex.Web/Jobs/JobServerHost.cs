using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.Client;
using Hangfire.Common;
using Hangfire.Server;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// A Hangfire server that takes up its work again within seconds of a database outage's end. Each of Hangfire's
/// processes (the workers of a server share one) waits after a failure for the square of the failures since its last
/// success in seconds, up to 5 minutes, and BackgroundJobServerOptions cannot change that: after a 60 s outage a node of
/// 10 workers ran jobs on 3 of them for a minute, and on all only minutes later, while its readiness answered 200 and
/// README said it needed no restart. So on a shared database the server is assembled as Hangfire's BackgroundJobServer
/// assembles it (1.8: the workers, the delayed and the recurring job schedulers, the storage's own processes, which
/// BackgroundProcessingServer adds), with a retry delay of at most <see cref="MaxRetryDelay"/>, and started and stopped
/// as Hangfire.NetCore's hosted service does (at ApplicationStarted, its stop sent at ApplicationStopping). On the
/// embedded default Hangfire's storage is in memory and never fails: its server is Hangfire's own.
/// </summary>
public sealed class JobServerHost : IHostedService, IDisposable
{
    /// <summary>The longest a process waits before its next try while the database is away.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private IBackgroundProcessingServer? server;

    private JobServerHost(Func<IBackgroundProcessingServer> create, IHostApplicationLifetime lifetime)
    {
        // Hangfire.NetCore's hosted service starts its server then too (its issue 2117): the host's other services first.
        lifetime.ApplicationStarted.Register(() => server = create());
        lifetime.ApplicationStopping.Register(() => server?.SendStop());
    }

    /// <summary>A Hangfire server of the node's storage (or of <paramref name="storage"/>), configured by <paramref name="configure"/>.</summary>
    public static IServiceCollection Add(
        IServiceCollection services, StorageProvider provider, Action<IServiceProvider, BackgroundJobServerOptions> configure, JobStorage? storage = null)
    {
        if (provider == StorageProvider.Embedded)
        {
            return storage is null ? services.AddHangfireServer(configure) : services.AddHangfireServer(configure, storage);
        }
        // Added, not tried: the job server and the webhook server are two of this type.
        return services.AddSingleton<IHostedService>(app => new JobServerHost(
            () => Create(app, configure, storage), app.GetRequiredService<IHostApplicationLifetime>()));
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (server is { } running)
        {
            running.SendStop();
            await running.WaitForShutdownAsync(cancellationToken);
        }
    }

    public void Dispose()
    {
        server?.Dispose();
        server = null;
    }

    /// <summary>Capped, where Hangfire's grows to 5 minutes; never zero, which Hangfire would raise to 5 s with a warning.</summary>
    public static TimeSpan RetryDelay(int failures) => TimeSpan.FromSeconds(Math.Clamp(failures, 1, MaxRetryDelay.TotalSeconds));

    private static BackgroundProcessingServer Create(IServiceProvider services, Action<IServiceProvider, BackgroundJobServerOptions> configure, JobStorage? storage)
    {
        HangfireServiceCollectionExtensions.ThrowIfNotConfigured(services);
        var options = new BackgroundJobServerOptions();
        configure(services, options);
        storage ??= services.GetRequiredService<JobStorage>();
        var filters = services.GetRequiredService<IJobFilterProvider>();
        var stateChanger = new BackgroundJobStateChanger(filters);
        IBackgroundProcessDispatcherBuilder[] processes =
        [
            new Worker(options.Queues, new BackgroundJobPerformer(filters, services.GetRequiredService<JobActivator>(), options.TaskScheduler), stateChanger)
                .UseBackgroundPool(options.WorkerCount, options.WorkerThreadConfigurationAction),
            new DelayedJobScheduler(options.SchedulePollingInterval, stateChanger) { TaskScheduler = options.TaskScheduler }.UseBackgroundPool(1),
            new RecurringJobScheduler(new BackgroundJobFactory(filters), options.SchedulePollingInterval, services.GetRequiredService<ITimeZoneResolver>())
                { TaskScheduler = options.TaskScheduler }.UseBackgroundPool(1),
        ];
        var properties = new Dictionary<string, object> { ["Queues"] = options.Queues, ["WorkerCount"] = options.WorkerCount };
        return new BackgroundProcessingServer(storage, processes, properties, new BackgroundProcessingServerOptions
        {
            StopTimeout = options.StopTimeout,
            ShutdownTimeout = options.ShutdownTimeout,
            HeartbeatInterval = options.HeartbeatInterval,
            ServerCheckInterval = options.ServerCheckInterval,
            ServerTimeout = options.ServerTimeout,
            CancellationCheckInterval = options.CancellationCheckInterval,
            ServerName = options.ServerName,
            RetryDelay = RetryDelay,
        });
    }
}
