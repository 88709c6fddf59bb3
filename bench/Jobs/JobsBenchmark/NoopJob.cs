namespace AgentCorex.Bench.Jobs;

/// <summary>
/// The raw-Hangfire side of the comparison: a job that does nothing, enqueued straight into the server's
/// Hangfire (same storage, same workers, same global filters). Public, as Hangfire activates it by type name.
/// </summary>
public sealed class NoopJob
{
    private static long lastStartedAt;

    /// <summary>The Stopwatch timestamp at which the last <see cref="RunTimed"/> began, for the idle latency run.</summary>
    public static long LastStartedAt => Volatile.Read(ref lastStartedAt);

    public void Run()
    {
    }

    /// <param name="enqueuedAt">Unused: it only makes the job carry an argument, as ToolJob does.</param>
    public void RunTimed(long enqueuedAt) => Volatile.Write(ref lastStartedAt, System.Diagnostics.Stopwatch.GetTimestamp());
}
