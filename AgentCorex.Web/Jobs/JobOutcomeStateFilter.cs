using Hangfire.States;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Maps how a run ended onto Hangfire's states, so the dashboard agrees with the API: a run that returned
/// normally but ended failed, timed out or canceled is not shown as Succeeded.
/// </summary>
internal sealed class JobOutcomeStateFilter : IElectStateFilter
{
    public void OnStateElection(ElectStateContext context)
    {
        if (context.CandidateState is not SucceededState { Result: JobRunSummary summary })
        {
            return;
        }
        context.CandidateState = summary.Status switch
        {
            JobStatus.Failed => new FailedState(new ToolJobFailedException(summary.Message ?? "The tool failed")) { Reason = summary.Message },
            JobStatus.Timeout => new TimeoutState(summary.TimeoutMs),
            JobStatus.Canceled => new CanceledState(summary.Message),
            _ => context.CandidateState,
        };
    }
}

/// <summary>Stands for a tool's failure in Hangfire's Failed state; the ledger holds the error itself.</summary>
public sealed class ToolJobFailedException(string message) : Exception(message);
