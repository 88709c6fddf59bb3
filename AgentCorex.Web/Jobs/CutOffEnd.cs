using AgentCorex.Web.Tools;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// What becomes of a job whose run was cut off by its server's stop or death (the restart rules): back to the queue when
/// its tool is safe to retry and it has had fewer than Jobs:MaxAttempts runs, else failed SERVER_RESTARTED with
/// <see cref="FailureMessage"/>. The bound keeps a job that never gets to its end between restarts, or that takes its
/// server down with it (a crash at every run, each restart starting it again), from running for ever.
/// </summary>
public readonly record struct CutOffEnd(string? FailureMessage)
{
    public static readonly CutOffEnd RunAgain = new(null);

    public static readonly CutOffEnd NotSafeToRetry =
        new("The server running this job stopped before it finished, and its tool is not safe to run twice");

    public bool RunsAgain => FailureMessage is null;

    /// <summary>For a job of <paramref name="tool"/> cut off in its run <paramref name="attempt"/> (its first is 1).</summary>
    public static CutOffEnd For(ToolCatalog catalog, JobsOptions options, string tool, int attempt) =>
        !catalog.IsSafeToRetry(tool) ? NotSafeToRetry
        : attempt >= options.MaxAttempts
            ? new($"The server running this job stopped before it finished, in run {attempt} of at most {options.MaxAttempts} (Jobs:MaxAttempts): it is not run again")
            : RunAgain;
}
