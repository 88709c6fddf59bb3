namespace AgentCorex.Web.Api;

/// <summary>
/// A background service whose loop ends quietly once it is asked to stop, however its cancellation comes out. Since
/// .NET 10, BackgroundService starts ExecuteAsync by Task.Run with the stopping token, so a stop that comes before the
/// thread pool gets to it leaves ExecuteTask canceled without a line of the loop having run: no catch in the loop can
/// help. The host takes a canceled ExecuteTask for a stop only once the application is stopping; a refused start (an
/// address in use) disposes the services without that, and the host logged "BackgroundService failed", then at Critical
/// that it stops. A cancellation that no stop asked for (a timeout's) still fails the service.
/// </summary>
public abstract class BackgroundLoop : BackgroundService
{
    private CancellationToken starting;
    private volatile bool stopped;
    private Task? ended;

    /// <summary>What the host watches: the loop's own task, canceled by a stop or not.</summary>
    public override Task? ExecuteTask =>
        base.ExecuteTask is { } execute ? LazyInitializer.EnsureInitialized(ref ended, () => EndAsync(execute)) : null;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        starting = cancellationToken; // the stopping token is linked to it
        return base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        stopped = true;
        return base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        stopped = true; // before the cancellation that disposing makes, which EndAsync reads
        base.Dispose();
    }

    private async Task EndAsync(Task execute)
    {
        try
        {
            await execute.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (execute.IsCanceled && (stopped || starting.IsCancellationRequested))
        {
        }
    }
}
