using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Webhooks;

namespace AgentCorex.Web.Shutdown;

/// <summary>
/// Keeps the web server answering while this node's running jobs finish. The host calls every lifecycle service's
/// StoppingAsync before it stops any service, Kestrel included; so during the drain a client can still read its
/// jobs, a new execution gets 503 and /health/ready says the node is not ready. Execution requests under way (a direct
/// execution above all) and webhook attempts being made are waited for too: Kestrel would let the requests finish,
/// and Hangfire the attempts, but stop listening, and close idle connections, the moment the drain ended. Hangfire's
/// own stop, after this, waits for what is left (an attempt's record, a job between fetch and start).
/// </summary>
internal sealed class ShutdownDrain(
    IHostApplicationLifetime lifetime,
    RunningJobs running,
    RunningExecutions executions,
    ReceiverGate webhookAttempts,
    ShutdownDeadline shutdown,
    TimeProvider time) : IHostedLifecycleService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        // A stop asked of the host directly (not by a signal) has not told anyone yet: Hangfire stops fetching on it.
        lifetime.StopApplication();
        try
        {
            // As long as a run cut off at Jobs:ShutdownTimeout has to store how it ended, which the drain waits for too.
            while ((running.Count > 0 || executions.Count > 0 || webhookAttempts.InFlight > 0) && !shutdown.LastWrites.IsCancellationRequested)
            {
                await Task.Delay(Poll, time, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the host's own shutdown timeout ran out
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
