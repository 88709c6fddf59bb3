namespace AgentCorex.Web.RateLimits;

/// <summary>Marks the execution endpoints (POST /execute_tool, POST /jobs/submit): they count against the key's requests per minute.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ExecutionRateLimitAttribute : Attribute;
