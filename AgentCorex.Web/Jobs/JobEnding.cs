using AgentCorex.Web.Execution;

namespace AgentCorex.Web.Jobs;

/// <summary>How a run ended, as the ledger stores it.</summary>
public sealed record JobEnding(
    string Status,
    long ExecutionTimeMs,
    string? Result = null,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    string? ErrorDetails = null,
    long TokensInput = 0,
    long TokensOutput = 0)
{
    public TokensUsed Tokens => new(TokensInput, TokensOutput);

    /// <summary>The end on the run's copy of its job, as <see cref="JobLedger.TryFinishAsync"/> stored it in the row.</summary>
    public void ApplyTo(JobEntry job, DateTime endedAt)
    {
        job.Status = Status;
        job.CompletedAt = endedAt;
        job.ExecutionTimeMs = ExecutionTimeMs;
        job.Result = Result;
        job.ErrorCode = ErrorCode;
        job.ErrorMessage = ErrorMessage;
        job.ErrorDetails = ErrorDetails;
        job.TokensInput = TokensInput;
        job.TokensOutput = TokensOutput;
    }
}
