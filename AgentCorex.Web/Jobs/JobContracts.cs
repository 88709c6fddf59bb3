using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Web.Api;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

public sealed record SubmitJobRequest(string? Tool, JsonElement? Arguments, int? TimeoutMs) : IExecutionRequest;

public sealed class SubmitJobRequestValidator : AbstractValidator<SubmitJobRequest>
{
    public SubmitJobRequestValidator(IOptions<JobsOptions> options)
    {
        var max = options.Value.MaxTimeoutMs;
        RuleFor(r => r.Tool).IsToolName();
        RuleFor(r => r.Arguments).IsArgumentsObject();
        RuleFor(r => r.TimeoutMs).IsTimeoutUpTo(max);
    }
}

public sealed record SubmittedJobResponse(
    string JobId, [property: AllowedValues(JobStatus.Queued)] string Status, string Tool, long CreatedAt, long EstimatedDurationMs)
{
    /// <summary>The job an earlier submit with the same Idempotency-Key made, answered again (the header Idempotent-Replayed says so).</summary>
    [JsonIgnore]
    public bool Replayed { get; init; }
}

public sealed record JobError(string Code, string Message, JsonElement Details);

public sealed record JobResponse(
    string JobId,
    [property: AllowedValues(JobStatus.Queued, JobStatus.Running, JobStatus.Completed, JobStatus.Failed, JobStatus.Canceled, JobStatus.Timeout)]
    string Status,
    string Tool,
    long CreatedAt,
    int? PositionInQueue = null,
    long? StartedAt = null,
    long? CompletedAt = null,
    ToolProgress? Progress = null,
    JsonElement? Result = null,
    long? ExecutionTimeMs = null,
    TokensUsed? TokensUsed = null,
    JobError? Error = null);

public sealed record CanceledJobResponse(string JobId, [property: AllowedValues(JobStatus.Canceled)] string Status, string Message);

public sealed record JobSummaryResponse(
    string JobId,
    string Tool,
    [property: AllowedValues(JobStatus.Queued, JobStatus.Running, JobStatus.Completed, JobStatus.Failed, JobStatus.Canceled, JobStatus.Timeout)]
    string Status,
    long CreatedAt,
    long? StartedAt,
    long? CompletedAt);

public sealed record JobListResponse(IReadOnlyList<JobSummaryResponse> Jobs, Pagination Pagination);

/// <summary>GET /jobs's query: a page, and the filters it takes.</summary>
public sealed record JobListQuery : PageQuery
{
    /// <summary>The contract's default for <see cref="Status"/>: jobs in every status, as when it is left out.</summary>
    public const string AnyStatus = "all";

    [FromQuery(Name = "status")]
    [Description($"Only jobs in this status: {JobStatus.Queued}, {JobStatus.Running}, {JobStatus.Completed}, {JobStatus.Failed}, {JobStatus.Canceled} or {JobStatus.Timeout}; {AnyStatus} (the default, as when left out) for every status")]
    public string? Status { get; init; }

    [FromQuery(Name = "tool")]
    [Description("Only jobs of this tool; all when left out")]
    public string? Tool { get; init; }
}

public sealed class JobListQueryValidator : AbstractValidator<JobListQuery>
{
    public JobListQueryValidator()
    {
        RuleFor(q => q.Limit).IsAPageLimit();
        RuleFor(q => q.Offset).IsAnOffset();
        RuleFor(q => q.Status)
            .IsOneOf([JobListQuery.AnyStatus, .. JobStatus.All])
            .WithMessage($"'status' must be one of: {JobListQuery.AnyStatus}, {string.Join(", ", JobStatus.All)}");
        RuleFor(q => q.Tool).MaximumLength(ExecutionRequestRules.MaxToolNameLength);
    }
}

internal static class JobMapping
{
    /// <summary>The job as GET /jobs/{id} answers: a running job shows "starting" until its tool reports progress.</summary>
    public static JobResponse ToResponse(this JobEntry job, int? positionInQueue, ToolProgress? progress) =>
        job.ToResponse(job.Status, positionInQueue, progress ?? (job.Status == JobStatus.Running ? new ToolProgress(ToolProgress.StartingStep, 1, 0) : null));

    /// <summary>
    /// The job's fields that GET /jobs/{id} shows in <paramref name="status"/>, which may be a status the row has left
    /// since (a webhook's event is raised after its change, and raised again by the sweep later still).
    /// </summary>
    public static JobResponse ToResponse(this JobEntry job, string status, int? positionInQueue, ToolProgress? progress) => status switch
    {
        JobStatus.Queued => new(job.Id, status, job.Tool, job.CreatedAt.ToUnixSeconds(), PositionInQueue: positionInQueue),
        JobStatus.Running => new(job.Id, status, job.Tool, job.CreatedAt.ToUnixSeconds(),
            StartedAt: job.StartedAt.ToUnixSeconds(),
            Progress: progress),
        JobStatus.Completed => new(job.Id, status, job.Tool, job.CreatedAt.ToUnixSeconds(),
            StartedAt: job.StartedAt.ToUnixSeconds(),
            CompletedAt: job.CompletedAt.ToUnixSeconds(),
            Result: ParseJson(job.Result),
            ExecutionTimeMs: job.ExecutionTimeMs,
            TokensUsed: new TokensUsed(job.TokensInput, job.TokensOutput)),
        JobStatus.Canceled => new(job.Id, status, job.Tool, job.CreatedAt.ToUnixSeconds(),
            StartedAt: job.StartedAt.ToUnixSeconds(),
            CompletedAt: job.CompletedAt.ToUnixSeconds()),
        _ => new(job.Id, status, job.Tool, job.CreatedAt.ToUnixSeconds(),
            StartedAt: job.StartedAt.ToUnixSeconds(),
            CompletedAt: job.CompletedAt.ToUnixSeconds(),
            ExecutionTimeMs: job.ExecutionTimeMs,
            Error: new JobError(job.ErrorCode ?? "EXECUTION_ERROR", job.ErrorMessage ?? "", ParseJson(job.ErrorDetails) ?? EmptyObject)),
    };

    public static JobSummaryResponse ToSummary(this JobEntry job) =>
        new(job.Id, job.Tool, job.Status, job.CreatedAt.ToUnixSeconds(), job.StartedAt.ToUnixSeconds(), job.CompletedAt.ToUnixSeconds());

    internal static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement;

    /// <summary>Stored JSON as an element of a response.</summary>
    internal static JsonElement? ParseJson(string? json)
    {
        if (json is null)
        {
            return null;
        }
        // Clone, then dispose: the document's pooled buffers go back at once.
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
