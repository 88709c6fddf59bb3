using Newtonsoft.Json;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// How a <see cref="JobRunSummary"/> is stored as the Result of a Hangfire job's Succeeded state, which the job's
/// dashboard page shows as it is. Hangfire serializes a result with its user settings, declared as object, so the
/// recommended settings (type names where the declared type differs) would store it with a .NET type name
/// (<c>"$type":"AgentCorex.Web.Jobs.JobRunSummary, AgentCorex.Web"</c>). Written here instead as the contract names
/// it: <c>{"status":"completed","execution_time_ms":12}</c>. The message is left out: it may be a tool's own text,
/// and the AgentCorex panel above shows the ledger's result and error, with secrets redacted. Only the stored form
/// changes: the election filter (<see cref="JobOutcomeStateFilter"/>) sees the summary itself, never its JSON.
/// </summary>
internal sealed class JobRunSummaryJson : JsonConverter<JobRunSummary>
{
    public override bool CanRead => false;

    public override void WriteJson(JsonWriter writer, JobRunSummary? value, JsonSerializer serializer)
    {
        if (value is null)
        {
            writer.WriteNull();
            return;
        }
        writer.WriteStartObject();
        writer.WritePropertyName("status");
        writer.WriteValue(value.Status);
        if (value.ExecutionTimeMs is { } ms)
        {
            writer.WritePropertyName("execution_time_ms");
            writer.WriteValue(ms);
        }
        writer.WriteEndObject();
    }

    /// <summary>Never called (<see cref="CanRead"/> is false): nothing reads a run's result back from Hangfire.</summary>
    public override JobRunSummary ReadJson(JsonReader reader, Type objectType, JobRunSummary? existingValue, bool hasExistingValue, JsonSerializer serializer) =>
        throw new NotSupportedException("A tool job's Hangfire result is written for operators only; the ledger holds the job.");
}
