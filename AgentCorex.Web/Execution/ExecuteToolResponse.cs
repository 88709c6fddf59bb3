namespace AgentCorex.Web.Execution;

public sealed record ExecuteToolResponse(string Tool, string Status, object? Result, long ExecutionTimeMs, TokensUsed TokensUsed);
