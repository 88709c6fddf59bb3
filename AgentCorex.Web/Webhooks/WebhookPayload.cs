using System.Globalization;
using System.Text.Json;
using AgentCorex.Web.Api;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Web.Webhooks;

/// <summary>The contract's payload: <c>{event, timestamp, job: {job_id, status, tool, result | error}}</c>.</summary>
public sealed record WebhookPayload(string Event, string Timestamp, WebhookJob Job)
{
    public static string Serialize(string eventName, DateTimeOffset at, JobEntry job, JobEnding? ending)
    {
        var status = JobEventNames.StatusOf(eventName);
        var result = ending?.Result ?? job.Result;
        var errorCode = ending?.ErrorCode ?? job.ErrorCode;
        var payload = new WebhookPayload(
            eventName,
            at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            new WebhookJob(
                job.Id,
                status,
                job.Tool,
                status == JobStatus.Completed ? JobMapping.ParseJson(result) : null,
                status is JobStatus.Failed or JobStatus.Timeout
                    ? new JobError(errorCode ?? "EXECUTION_ERROR", ending?.ErrorMessage ?? job.ErrorMessage ?? "", JobMapping.ParseJson(ending?.ErrorDetails ?? job.ErrorDetails) ?? JobMapping.EmptyObject)
                    : null));
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

public sealed record WebhookJob(string JobId, string Status, string Tool, JsonElement? Result = null, JobError? Error = null);
