using System.Globalization;
using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Web.Webhooks;

/// <summary>
/// The contract's payload, <c>{event, timestamp, job: {job_id, status, tool, result | error}}</c>, whose job goes on
/// with the times and figures GET /jobs/{id} shows in the event's status: <c>created_at</c>, and as they apply
/// <c>started_at</c>, <c>completed_at</c>, <c>execution_time_ms</c>, <c>tokens_used</c>. Not a queued job's place in the
/// queue nor a running job's progress: they change, and the payload is written once, when the event is raised.
/// A <c>job.started</c> job ends with its run's <c>attempt</c>: a job cut off by a restart and run again (its tool
/// safe to retry) starts twice, and a receiver tells the runs apart by it.
/// </summary>
public sealed record WebhookPayload(string Event, string Timestamp, WebhookJob Job)
{
    /// <param name="job">The job as the event's change left it in the ledger (it may have moved on since).</param>
    public static string Serialize(string eventName, DateTimeOffset at, JobEntry job)
    {
        var shown = job.ToResponse(JobEventNames.StatusOf(eventName), positionInQueue: null, progress: null);
        var payload = new WebhookPayload(
            eventName,
            at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            new WebhookJob(
                shown.JobId, shown.Status, shown.Tool, shown.Result, shown.Error,
                shown.CreatedAt, shown.StartedAt, shown.CompletedAt, shown.ExecutionTimeMs, shown.TokensUsed,
                eventName == JobEventNames.Started ? job.Attempt : null));
        return JsonSerializer.Serialize(payload, ApiJson.Options);
    }

    /// <summary>The tool named in a stored payload, for the delivery's log lines; "" if it cannot be read.</summary>
    public static string ToolOf(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            return document.RootElement.TryGetProperty("job", out var job) && job.TryGetProperty("tool", out var tool) && tool.ValueKind == JsonValueKind.String
                ? tool.GetString()!
                : "";
        }
        catch (JsonException)
        {
            return "";
        }
    }
}

/// <summary>
/// A job in a payload: the contract's fields first, in its order, then GET /jobs/{id}'s times and figures, then,
/// for job.started, which run of the job started (1, then 2 and up for a run again after a restart cut one off).
/// </summary>
public sealed record WebhookJob(
    string JobId,
    string Status,
    string Tool,
    JsonElement? Result,
    JobError? Error,
    long CreatedAt,
    long? StartedAt,
    long? CompletedAt,
    long? ExecutionTimeMs,
    TokensUsed? TokensUsed,
    int? Attempt);
