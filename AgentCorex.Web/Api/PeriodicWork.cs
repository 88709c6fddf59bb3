namespace AgentCorex.Web.Api;

/// <summary>The loop of a background pass that runs every so often until the server stops: a failed pass is reported and the next one runs on time.</summary>
public static class PeriodicWork
{
    /// <param name="atOnce">Run the first pass now rather than after the first interval.</param>
    public static async Task RunAsync(
        Func<TimeSpan> interval,
        TimeProvider time,
        bool atOnce,
        Func<CancellationToken, Task> pass,
        Action<Exception> failed,
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
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failed(e);
            }
        }
    }
}
