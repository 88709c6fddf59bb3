using AgentCorex.Web.Jobs;
using AgentCorex.Web.Network;
using AgentCorex.Web.Shutdown;
using AgentCorex.Web.Storage;
using Hangfire;

namespace AgentCorex.Web.Webhooks;

public static class WebhooksExtensions
{
    /// <summary>
    /// Signed webhooks for job events, delivered by Hangfire workers of their own (queue "webhooks") over an
    /// HttpClient that follows no redirect, keeps no cookie, uses no proxy, connects only to allowed addresses and
    /// reuses a connection only with a receiver that keeps connections open (not an HTTP/1.0 one).
    /// </summary>
    public static WebApplicationBuilder AddWebhooks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<NetworkOptions>().BindConfiguration(NetworkOptions.Section).ValidateOnStart();
        builder.Services.AddOptions<WebhooksOptions>().BindConfiguration(WebhooksOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.RetryBaseDelay > TimeSpan.Zero && o.RetryBaseDelay <= TimeSpan.FromSeconds(10), "Webhooks:RetryBaseDelay must be above 0 and at most 00:00:10 (the first retry comes within 10 s).")
            .Validate(o => o.MaxRetryDelay >= o.RetryBaseDelay && o.MaxRetryDelay <= TimeSpan.FromDays(1), "Webhooks:MaxRetryDelay must be between Webhooks:RetryBaseDelay and 1.00:00:00.")
            .Validate(o => o.AttemptTimeout > TimeSpan.Zero && o.AttemptTimeout <= TimeSpan.FromMinutes(1), "Webhooks:AttemptTimeout must be above 0 and at most 00:01:00.")
            .Validate(o => o.SubscriptionCacheTtl >= TimeSpan.Zero && o.SubscriptionCacheTtl <= TimeSpan.FromMinutes(10), "Webhooks:SubscriptionCacheTtl must be between 00:00:00 and 00:10:00.")
            .Validate(o => o.SweepInterval >= TimeSpan.FromMilliseconds(100) && o.SweepInterval <= TimeSpan.FromHours(1), "Webhooks:SweepInterval must be between 00:00:00.1 and 01:00:00.")
            .Validate(o => o.RepairGrace >= TimeSpan.FromSeconds(1) && o.RepairGrace <= TimeSpan.FromDays(1), "Webhooks:RepairGrace must be between 00:00:01 and 1.00:00:00.")
            .Validate(o => o.DeliveryRetention >= TimeSpan.FromHours(1) && o.DeliveryRetention <= TimeSpan.FromDays(3650), "Webhooks:DeliveryRetention must be between 01:00:00 and 3650.00:00:00.")
            .ValidateOnStart();
        var options = builder.Configuration.GetSection(WebhooksOptions.Section).Get<WebhooksOptions>() ?? new WebhooksOptions();

        builder.Services.AddSingleton<TargetGuard>();
        builder.Services.AddSingleton<WebhookSecrets>();
        builder.Services.AddSingleton<WebhookSubscriptions>();
        builder.Services.AddScoped<WebhookEvents>();
        builder.Services.AddSingleton<ReceiverGate>();
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddScoped<WebhookDispatcher>();
        builder.Services.AddHostedService<WebhookRecovery>();
        builder.Services.AddHostedService<WebhookSweeper>();
        builder.Services.AddHttpClient(WebhookSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan /* each attempt has its own */)
            .ConfigurePrimaryHttpMessageHandler(services => new ConnectionReuseHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                // A proxy would be what the guard checks instead of the receiver.
                UseProxy = false,
                ConnectCallback = services.GetRequiredService<TargetGuard>().ConnectAsync,
                PooledConnectionLifetime = TimeSpan.FromMinutes(1),
            }))
            // The default handlers log every URL, and a webhook URL may carry a token of its receiver.
            .RemoveAllLoggers();

        if (options.WorkerCount > 0)
        {
            var jobs = builder.Configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
            void Configure(IServiceProvider _, BackgroundJobServerOptions server)
            {
                server.ServerName = $"{Environment.MachineName}:webhooks";
                server.Queues = [WebhookDispatcher.Queue];
                server.WorkerCount = options.WorkerCount;
                // Retries are scheduled jobs; Hangfire's 15 s default poll would delay a 5 s retry to up to 20 s.
                server.SchedulePollingInterval = RetrySchedule.SchedulePollingInterval;
                ServerLiveness.ApplyTo(server, jobs);
                // An attempt under way is let finish as the tools are (it takes at most Webhooks:AttemptTimeout). No new
                // one starts during the drain: Hangfire stops fetching at SIGTERM, and fetching on would keep the drain
                // waiting on receivers; a delivery due meanwhile is kept, for another node or the next start.
                ShutdownTimeouts.ApplyTo(server, jobs.ShutdownTimeout);
            }
            var storage = StorageOptions.From(builder.Configuration).Provider;
            var separate = HangfireStorage.SeparateWebhookStorage(
                new StorageConnection(storage, StorageOptions.ConnectionString(builder.Configuration, storage)), jobs);
            JobServerHost.Add(builder.Services, storage, Configure, separate);
        }
        return builder;
    }
}
