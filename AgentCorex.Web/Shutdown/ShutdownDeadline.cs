using AgentCorex.Web.Jobs;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Shutdown;

/// <summary>
/// Where a stopping node stands: from SIGTERM on it is stopping (it takes no new work), and its deadline comes
/// Jobs:ShutdownTimeout later, when work still running is cut off.
/// </summary>
public sealed class ShutdownDeadline : IDisposable
{
    private readonly CancellationTokenSource deadline;
    private readonly CancellationTokenSource lastWrites;
    private readonly CancellationTokenRegistration registration;

    public ShutdownDeadline(IHostApplicationLifetime lifetime, IOptions<JobsOptions> options, TimeProvider time)
    {
        Stopping = lifetime.ApplicationStopping;
        deadline = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        lastWrites = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        var timeout = options.Value.ShutdownTimeout;
        registration = Stopping.Register(() =>
        {
            deadline.CancelAfter(timeout);
            lastWrites.CancelAfter(timeout + ShutdownTimeouts.InterruptGrace);
        });
    }

    /// <summary>Fires as the host begins to stop.</summary>
    public CancellationToken Stopping { get; }

    public bool IsStopping => Stopping.IsCancellationRequested;

    /// <summary>Fires Jobs:ShutdownTimeout after <see cref="Stopping"/>.</summary>
    public CancellationToken Deadline => deadline.Token;

    /// <summary>
    /// Fires <see cref="ShutdownTimeouts.InterruptGrace"/> after <see cref="Deadline"/>: how long a run that ended
    /// during the drain, or was cut off at its deadline, has to store how it ended. The drain and Hangfire wait as long.
    /// </summary>
    public CancellationToken LastWrites => lastWrites.Token;

    public void Dispose()
    {
        registration.Dispose();
        deadline.Dispose();
        lastWrites.Dispose();
    }
}
