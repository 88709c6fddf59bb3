using System.ComponentModel.DataAnnotations;

namespace AgentCorex.Web.Execution;

/// <summary>
/// A direct run's 200. Its status is always "success" (a failure or a timeout is an error's envelope; mode "async" a
/// job's 202, "queued"): published as such, so that a client tells the 200 from the 202 by it.
/// </summary>
public sealed record ExecuteToolResponse(
    string Tool, [property: AllowedValues(ExecuteToolResponse.Succeeded)] string Status, object? Result, long ExecutionTimeMs, TokensUsed TokensUsed)
{
    public const string Succeeded = "success";
}
