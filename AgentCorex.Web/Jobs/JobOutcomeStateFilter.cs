using AgentCorex.Web.Dashboard;
using Hangfire.States;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The Hangfire state a run ends in, so the dashboard agrees with the API. A run that returned normally but did
/// not complete (failed, timed out, canceled) is moved to its state by <see cref="ToolJob"/> itself, straight from
/// Processing; this filter is the fallback for when that could not be done: it elects that state in place of the
/// worker's Succeeded. Hangfire then still writes the Succeeded it replaced into the job's history (an election
/// keeps every candidate it passed over), though it neither applies nor counts it.
/// </summary>
internal sealed class JobOutcomeStateFilter : IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is SucceededState { Result: JobRunSummary summary } && StateOf(summary) is { } state)
        {
            context.CandidateState = state;
        }
    }

    /// <summary>
    /// The final Hangfire state of a run that did not complete; null for one that did (Succeeded). A second Hangfire
    /// job for a ledger job that another one carries ends Deleted, so that it counts neither as a success nor as
    /// another failure of the job, and says why.
    /// </summary>
    public static IState? StateOf(JobRunSummary summary) => summary switch
    {
        { CarriedBy: not null } => new DeletedState { Reason = summary.Message },
        _ => StateOfOutcome(summary),
    };

    private static IState? StateOfOutcome(JobRunSummary summary) => summary.Status switch
    {
        JobStatus.Failed => Failed(summary.Message is null ? null : SecretValues.Redact(summary.Message)),
        JobStatus.Timeout => new TimeoutState(summary.TimeoutMs),
        JobStatus.Canceled => new CanceledState(summary.EndedAt, summary.Message),
        _ => null,
    };

    /// <summary>The dashboard shows a failed state's message to operators: a secret in it (a URL's password) is hidden, as in the job's panel.</summary>
    private static ToolFailedState Failed(string? message) =>
        new(new FailedState(new ToolJobFailedException(message ?? "The tool failed")) { Reason = message });
}

/// <summary>Stands for a tool's failure in Hangfire's Failed state; the ledger holds the error itself.</summary>
public sealed class ToolJobFailedException(string message) : Exception(message);
