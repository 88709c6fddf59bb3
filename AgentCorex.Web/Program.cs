using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Dashboard;
using AgentCorex.Web.Docs;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Health;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Monitoring;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Shutdown;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Streaming;
using AgentCorex.Web.Tools;
using AgentCorex.Web.Webhooks;

return StartupErrors.RunOrExplain(() =>
{
    var builder = WebApplication.CreateBuilder(args);

    builder.AddLogFormat();
    builder.AddLogCaps();
    builder.AddApi();
    builder.AddStorage();
    builder.AddApiKeys();
    builder.AddRateLimits();
    builder.AddConcurrencyLimits();
    builder.AddTools();
    builder.AddExecution();
    builder.AddJobs();
    builder.AddGracefulShutdown();
    builder.AddStreaming();
    builder.AddWebhooks();
    builder.AddHealth();
    builder.AddMonitoring();
    builder.AddDashboard();
    builder.AddApiDocs();

    var app = builder.Build();

    app.UseApi();
    app.UseAuthentication();
    app.UseAuthorization();
    app.MapApi();
    app.MapHealth();
    app.MapMetrics();
    app.MapDashboard();
    app.MapApiDocs();
    return app;
});

/// <summary>The entry point, public so the tests' WebApplicationFactory can start the server.</summary>
public partial class Program;
