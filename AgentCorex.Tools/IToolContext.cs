using Microsoft.Extensions.Logging;

namespace AgentCorex.Tools;

/// <summary>What a running tool can tell its host. Reporting is cheap and never blocks: the host
/// throttles what it stores.</summary>
public interface IToolContext
{
    /// <summary>The execution's public id (a job id, or an id of its own for a direct execution).</summary>
    string ExecutionId { get; }

    /// <summary>A logger whose scope names the execution and the tool.</summary>
    ILogger Logger { get; }

    /// <summary>
    /// Reports that the tool has reached a step. Each new step name counts as one step reached, and the
    /// percentage is the share of <paramref name="totalSteps"/> reached so far.
    /// </summary>
    void ReportProgress(string currentStep, int totalSteps);

    /// <summary>
    /// Says how many steps the run will take, before it reaches the first: until then its progress reads
    /// <c>{"current_step": "starting", "total_steps": totalSteps, "percentage": 0}</c> instead of one step of one.
    /// Nothing once a step is reported. A host without progress ignores it.
    /// </summary>
    void ReportTotalSteps(int totalSteps)
    {
    }

    /// <summary>Adds to the tokens this execution has used.</summary>
    void ReportTokens(int input, int output);
}
