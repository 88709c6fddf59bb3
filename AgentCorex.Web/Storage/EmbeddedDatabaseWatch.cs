using AgentCorex.Web.Api;

namespace AgentCorex.Web.Storage;

/// <summary>
/// Stops the server once its embedded database's file is gone (<see cref="EmbeddedDatabaseFile"/>): it could only refuse
/// every write from then on, and the jobs it holds in memory belong to a ledger that is no longer there. The process ends
/// with exit code 1, so that a service manager starts it again on the file it then finds.
/// </summary>
internal sealed partial class EmbeddedDatabaseWatch(
    EmbeddedDatabaseFile file, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<EmbeddedDatabaseWatch> logger) : BackgroundLoop
{
    private static readonly TimeSpan Every = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            if (file.Check())
            {
                LogGone(logger, file.Path);
                lifetime.StopApplication();
                return;
            }
            await Task.Delay(Every, time, stoppingToken); // canceled by a stop: a quiet end (BackgroundLoop)
        }
    }

    [LoggerMessage(Level = LogLevel.Critical, Message = "The embedded database file '{Path}' was deleted, moved or replaced while the server ran: writes are refused and the server stops (exit code 1). Put the file back and start it again; started without one, it makes a new, empty database")]
    private static partial void LogGone(ILogger logger, string path);
}
