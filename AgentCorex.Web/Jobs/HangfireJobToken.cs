using Hangfire.Server;

namespace AgentCorex.Web.Jobs;

/// <summary>What a running Hangfire job's cancellation token says about why it fired, as Hangfire's worker reads it.</summary>
internal static class HangfireJobToken
{
    /// <summary>What the Hangfire job token says (reading the job's state only when it has not fired).</summary>
    public static State StateOf(PerformContext perform)
    {
        try
        {
            perform.CancellationToken.ThrowIfCancellationRequested();
        }
        catch (JobAbortedException)
        {
            return State.Aborted;
        }
        catch (OperationCanceledException)
        {
            return State.Stopped;
        }
        return State.Live; // or not a Hangfire server's token (one a test made): taken for a cancel
    }

    public enum State
    {
        Live,

        /// <summary>The job's state is no longer Processing under this worker.</summary>
        Aborted,

        /// <summary>Its server is stopping or restarting.</summary>
        Stopped,
    }
}
