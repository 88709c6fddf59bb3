using System.Text.Json.Serialization;

namespace AgentCorex.Web.Tools;

/// <summary>
/// A tool's outcomes over the caller's jobs (an admin key's: everyone's). Rates are over finished jobs and 0
/// when none has finished; the times are over completed jobs and null, written out, when none has completed.
/// </summary>
public sealed record ToolMetricsResponse(
    string Tool,
    int TotalJobs,
    int Completed,
    int Failed,
    int Timeout,
    int Canceled,
    double SuccessRate,
    double FailureRate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? AvgExecutionTimeMs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] long? P95ExecutionTimeMs);
