using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// A job as the ledger keeps it: the durable record the API reads, listing and reporting use, and that
/// outlives Hangfire's own expiry of the job.
/// </summary>
public sealed class JobEntry
{
    public required string Id { get; init; }

    /// <summary>The Hangfire job now carrying it; set when a worker starts it (a re-enqueue makes a new one).</summary>
    public string? HangfireId { get; set; }

    public required string OwnerKeyId { get; init; }

    public required string Tool { get; init; }

    /// <summary>The arguments as the client sent them, JSON.</summary>
    public required string Arguments { get; init; }

    public required string Status { get; set; }

    /// <summary>
    /// A queued job of a key that was at its limit of executions at once: not handed to Hangfire (so it holds
    /// no worker) until a slot of its key frees. Queued jobs that are not parked hold one of their key's slots.
    /// </summary>
    public bool Parked { get; set; }

    public required int TimeoutMs { get; init; }

    public int Attempt { get; set; }

    public required DateTime CreatedAt { get; init; }

    public DateTime? StartedAt { get; set; }

    public DateTime? CompletedAt { get; set; }

    public long? ExecutionTimeMs { get; set; }

    /// <summary>The tool's result, JSON.</summary>
    public string? Result { get; set; }

    public string? ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    /// <summary>The error's details, a JSON object.</summary>
    public string? ErrorDetails { get; set; }

    public long TokensInput { get; set; }

    public long TokensOutput { get; set; }

    /// <summary>
    /// The bits (<see cref="Webhooks.JobEventNames.Bit"/>) of events this job has raised whose webhook deliveries
    /// are not stored yet. The transition that raises an event sets its bit, in the same statement, when the
    /// owner has a webhook for it; storing the deliveries clears it, in one transaction. A bit left set (a crash
    /// between the two) is raised again by the webhook sweep, so no event is lost and none is stored twice.
    /// </summary>
    public int EventsPending { get; set; }

    /// <summary>
    /// The <c>Idempotency-Key</c> header its submit came with, if any: unique per owner, so that a client's retry of
    /// the same submit finds this job instead of making another (<see cref="IdempotencyKeys"/>).
    /// </summary>
    public string? IdempotencyKey { get; init; }
}

internal sealed class JobEntryConfiguration : IEntityTypeConfiguration<JobEntry>
{
    public const string EndedIndex = "ix_jobs_ended";

    /// <summary>
    /// The ended index's filter. SQLite uses a partial index for a query's <c>status = 'timeout'</c> only when that very
    /// term is one of the filter's ORs; SQL Server's filtered indexes take no OR, but IN (<paramref name="inList"/>).
    /// </summary>
    public static string EndedFilter(bool inList)
    {
        string[] statuses = [JobStatus.Timeout, JobStatus.Canceled, JobStatus.Failed];
        return inList
            ? $"status IN ({string.Join(", ", statuses.Select(s => $"'{s}'"))})"
            : string.Join(" OR ", statuses.Select(s => $"status = '{s}'"));
    }

    public void Configure(EntityTypeBuilder<JobEntry> job)
    {
        job.ToTable("jobs");
        job.HasKey(j => j.Id);
        job.Property(j => j.Id).HasColumnName("job_id").HasMaxLength(32);
        job.Property(j => j.HangfireId).HasColumnName("hangfire_id").HasMaxLength(64);
        job.Property(j => j.OwnerKeyId).HasColumnName("owner_key_id").HasMaxLength(32);
        job.Property(j => j.Tool).HasColumnName("tool").HasMaxLength(64);
        job.Property(j => j.Arguments).HasColumnName("arguments");
        job.Property(j => j.Status).HasColumnName("status").HasMaxLength(16);
        job.Property(j => j.Parked).HasColumnName("parked");
        job.Property(j => j.TimeoutMs).HasColumnName("timeout_ms");
        job.Property(j => j.Attempt).HasColumnName("attempt");
        job.Property(j => j.CreatedAt).HasColumnName("created_at");
        job.Property(j => j.StartedAt).HasColumnName("started_at");
        job.Property(j => j.CompletedAt).HasColumnName("completed_at");
        job.Property(j => j.ExecutionTimeMs).HasColumnName("execution_time_ms");
        job.Property(j => j.Result).HasColumnName("result");
        job.Property(j => j.ErrorCode).HasColumnName("error_code").HasMaxLength(64);
        job.Property(j => j.ErrorMessage).HasColumnName("error_message");
        job.Property(j => j.ErrorDetails).HasColumnName("error_details");
        job.Property(j => j.TokensInput).HasColumnName("tokens_input");
        job.Property(j => j.TokensOutput).HasColumnName("tokens_output");
        job.Property(j => j.EventsPending).HasColumnName("events_pending");
        job.Property(j => j.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(IdempotencyKeys.MaxLength);

        // GET /jobs reads a page newest first (created_at, then job_id) straight from an index for each of its
        // filters: the caller's jobs (an admin key's: every job), by status, by tool. Pages deep in a ledger of a
        // million jobs skip index entries, not rows; a tool named with a status is checked in the status index's
        // trailing tool column, without reading the row (JobListing, JobTotals).
        job.HasIndex(j => new { j.OwnerKeyId, j.CreatedAt, j.Id }).HasDatabaseName("ix_jobs_owner_created");
        job.HasIndex(j => new { j.OwnerKeyId, j.Status, j.CreatedAt, j.Id, j.Tool }).HasDatabaseName("ix_jobs_owner_status_created");
        job.HasIndex(j => new { j.OwnerKeyId, j.Tool, j.CreatedAt, j.Id }).HasDatabaseName("ix_jobs_owner_tool_created");
        job.HasIndex(j => new { j.CreatedAt, j.Id }).HasDatabaseName("ix_jobs_created");
        job.HasIndex(j => new { j.Status, j.CreatedAt, j.Id, j.Tool }).HasDatabaseName("ix_jobs_status_created");
        job.HasIndex(j => new { j.Tool, j.CreatedAt, j.Id }).HasDatabaseName("ix_jobs_tool_created");
        // A tool's estimates and metrics (its completed jobs, latest first).
        job.HasIndex(j => new { j.Tool, j.Status, j.CompletedAt }).HasDatabaseName("ix_jobs_tool_status_completed");
        // A key's slots in use (not parked, queued or running) and its oldest parked job.
        job.HasIndex(j => new { j.OwnerKeyId, j.Parked, j.Status, j.CreatedAt }).HasDatabaseName("ix_jobs_owner_parked_status");
        // The dashboard's ledger lists (Timed out, Canceled, Interrupted: failed SERVER_RESTARTED), newest end first,
        // and their counts (the trailing error code). Only jobs that ended so are in it: the completed ones, nearly all,
        // never enter it, so a job that completes costs it nothing.
        job.HasIndex(j => new { j.Status, j.CompletedAt, j.Id, j.ErrorCode }, EndedIndex).HasFilter(EndedFilter(inList: false));
        // The few jobs whose events' deliveries are not stored yet, for the sweep that stores them after a crash.
        job.HasIndex(j => j.CreatedAt).HasDatabaseName("ix_jobs_events_pending").HasFilter("events_pending <> 0");
        // A key's submits by their Idempotency-Key, one job each; the jobs submitted without one are not in it.
        job.HasIndex(j => new { j.OwnerKeyId, j.IdempotencyKey }).HasDatabaseName(IdempotencyKeys.IndexName).IsUnique()
            .HasFilter("idempotency_key IS NOT NULL");
    }
}
