using Hangfire;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// How soon a dead node's Hangfire servers leave the dashboard's Servers: at most Jobs:ServerTimeout plus
/// Jobs:ServerCheckInterval after its last heartbeat (5¼ minutes by default; Hangfire's own 5 minute check interval
/// kept one there for up to 10). The timeout is also how long a database outage may last before each node's server
/// restarts in place, cutting off its running jobs, so it is not lowered by default. Only the list depends on it
/// otherwise: on PostgreSQL and SQL Server a dead node's running jobs are hidden by their own sliding timeout
/// (Jobs:InvisibilityTimeout), whatever the server list says.
/// </summary>
public static class ServerLiveness
{
    public static void ApplyTo(BackgroundJobServerOptions server, JobsOptions options)
    {
        server.HeartbeatInterval = options.ServerHeartbeatInterval;
        server.ServerTimeout = options.ServerTimeout;
        server.ServerCheckInterval = options.ServerCheckInterval;
    }
}
