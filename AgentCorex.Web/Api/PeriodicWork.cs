namespace AgentCorex.Web.Api;

/// <summary>
/// The loop of a background pass that runs every so often until the server stops: a failed pass is reported and the
/// next one runs on time; while the database is away, <paramref name="outage"/> reports it instead, once. Once the stop
/// is asked for, the loop ends quietly, whatever the pass throws.
/// </summary>
public static class PeriodicWork
{
    /// <param name="atOnce">Run the first pass now rather than after the first interval.</param>
    public static async Task RunAsync(
        Func<TimeSpan> interval,
        TimeProvider time,
        bool atOnce,
        Func<CancellationToken, Task> pass,
        Action<Exception> failed,
        DatabaseOutageLog outage,
        CancellationToken stoppingToken)
    {
        var wait = !atOnce;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (wait)
                {
                    await Task.Delay(interval(), time, stoppingToken);
                }
                wait = true;
                await pass(stoppingToken);
                outage.Succeeded();
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                // Whatever the stop made the pass throw (a statement canceled, a wrapped cancellation, the services
                // disposed under it by a refused start): not a failure, and no next pass will run.
                return;
            }
            catch (Exception e)
            {
                if (!outage.Failed(e))
                {
                    failed(e);
                }
            }
        }
    }
}
