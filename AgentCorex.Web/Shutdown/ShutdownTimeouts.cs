using Hangfire;

namespace AgentCorex.Web.Shutdown;

/// <summary>
/// How Jobs:ShutdownTimeout becomes Hangfire's and the host's timeouts. On SIGTERM Hangfire's servers stop fetching
/// at once; a running job's token fires at StopTimeout (Hangfire's default, 0.5 s, would cut every tool off), and
/// the job then writes its interruption to the ledger (back to the queue if safe to retry, else SERVER_RESTARTED)
/// before Hangfire stops waiting at ShutdownTimeout. The host waits a little longer than both.
/// </summary>
public static class ShutdownTimeouts
{
    /// <summary>Time for a run cut off at the deadline to record how it ended.</summary>
    public static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(5);

    public static void ApplyTo(BackgroundJobServerOptions server, TimeSpan drain)
    {
        server.StopTimeout = drain;
        server.ShutdownTimeout = drain + InterruptGrace;
    }

    public static TimeSpan Host(TimeSpan drain) => drain + InterruptGrace + TimeSpan.FromSeconds(5);
}
