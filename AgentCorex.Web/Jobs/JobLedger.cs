using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The ledger's state changes. Each is one conditional UPDATE, so when a cancel races a start, or a forced
/// cancel races the end of a run, exactly one of them takes effect. The hot ones (a job's insert, start and
/// finish) are plain SQL, and on the embedded database go through <see cref="SqliteWriter"/>, in group commits.
/// </summary>
/// <remarks>
/// Here its reads; a run's transitions in JobLedger.Transitions.cs, the queue's in JobLedger.Queue.cs, and how
/// plain SQL runs on each database in JobLedger.PlainSql.cs.
/// </remarks>
public sealed partial class JobLedger(
    AgentCorexDb db, WriteGate writes, TimeProvider time, IOptions<JobsOptions> options, SqliteWriter? sqlite = null, SqliteReadPool? reads = null)
{
    /// <summary>
    /// Every transition finds its row by its key and only then checks its status, in a form no index can serve
    /// (status is never null). Written <c>status = ...</c>, PostgreSQL's cached plan, made while its statistics said
    /// few jobs were queued, scanned ix_jobs_status_created for every queued job and filtered on the id: about 1 ms
    /// per start with a thousand jobs queued (docs/benchmarks.md).
    /// </summary>
    private const string StatusOfTheRowIs = "COALESCE(status, '') = ";

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>
    /// True on the embedded database: its writes are applied one at a time in the order they were handed over
    /// (<see cref="SqliteWriter"/>), so a write handed over first is applied first, whether or not its caller waits.
    /// </summary>
    public bool AppliesWritesInOrder => sqlite is not null;

    public Task<JobEntry?> FindAsync(string jobId, CancellationToken cancellationToken) =>
        reads is not null
            ? Task.FromResult(reads.QueryFirst(FindSql, JobRow.Read, jobId))
            : db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);

    /// <summary>
    /// Whether the job ended in <paramref name="status"/> at <paramref name="endedAt"/> (in <paramref name="attempt"/>,
    /// when given): a write whose answer was lost, known for its writer's own (<see cref="IsTimeWritten"/>). A database
    /// that cannot be read says no, as if the write had not been stored.
    /// </summary>
    public async Task<bool> IsEndedAtAsync(string jobId, string status, DateTime endedAt, int? attempt = null)
    {
        try
        {
            return await FindAsync(jobId, CancellationToken.None) is { } job
                && job.Status == status && (attempt is null || job.Attempt == attempt)
                && job.CompletedAt is { } completedAt && IsTimeWritten(completedAt, endedAt);
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Whether the ledger holds the cut-off of run <paramref name="attempt"/> that <see cref="TryInterruptAsync(string, int, CutOffEnd, int, TokensUsed, DateTime, CancellationToken)"/>
    /// sent, its answer lost: failed at <paramref name="endedAt"/>, or back in the queue after that run (a requeue writes
    /// no time, and a job queued after its run N was cut off in it, whoever wrote that: nothing else puts it there). A
    /// database that cannot be read says no.
    /// </summary>
    public async Task<bool> IsInterruptedAsync(string jobId, int attempt, CutOffEnd end, DateTime endedAt)
    {
        if (!end.RunsAgain)
        {
            return await IsEndedAtAsync(jobId, JobStatus.Failed, endedAt, attempt);
        }
        try
        {
            return await FindAsync(jobId, CancellationToken.None) is { Status: JobStatus.Queued } job && job.Attempt == attempt;
        }
        catch (Exception e) when (DatabaseFailures.IsUnavailable(e))
        {
            return false;
        }
    }

    /// <summary>A job of another key is reported as not existing: its existence is not the caller's to know.</summary>
    public async Task<JobEntry> FindOwnAsync(string jobId, Auth.ApiKeyIdentity caller, CancellationToken cancellationToken)
    {
        var job = await FindAsync(jobId, cancellationToken);
        return job is not null && (caller.IsAdmin || job.OwnerKeyId == caller.KeyId) ? job : throw JobErrors.NotFound(jobId);
    }

    private const string FindSql = $"SELECT {JobRow.Columns} FROM jobs WHERE job_id = {{0}}";

    /// <summary>The key's job submitted with this Idempotency-Key, if it is still in the ledger (its unique index).</summary>
    public async Task<JobEntry?> FindByIdempotencyKeyAsync(string ownerKeyId, string idempotencyKey, CancellationToken cancellationToken) =>
        reads is not null
            ? reads.QueryFirst(FindByIdempotencyKeySql, JobRow.Read, ownerKeyId, idempotencyKey)
            : await QueryFirstAsync(FindByIdempotencyKeySql, JobRow.Read, [ownerKeyId, idempotencyKey], cancellationToken);

    private const string FindByIdempotencyKeySql = $"SELECT {JobRow.Columns} FROM jobs WHERE owner_key_id = {{0}} AND idempotency_key = {{1}}";

    /// <summary>
    /// 1-based: the queued jobs that will run before this one, plus one. Other keys' parked jobs do not run
    /// before it: they wait for their own keys' slots.
    /// </summary>
    public async Task<int> PositionInQueueAsync(JobEntry job, CancellationToken cancellationToken) =>
        1 + (reads is not null
            ? reads.QueryFirst(JobsAheadSql, static row => row.GetInt32(0), job.OwnerKeyId, job.CreatedAt, job.Id)
            : await JobsAheadAsync(job, cancellationToken));

    /// <summary>
    /// What <see cref="JobsAheadAsync"/> counts, as SQL for the embedded database's read pool. Written with
    /// <c>created_at &lt;= {1}</c> as well, SQLite's plan bounds its search of ix_jobs_status_created by it
    /// (status=? AND created_at&lt;?, against status=? for the OR alone): 204-208 µs against 321 µs at position 1,000,
    /// measured on a copy of the bench's database.
    /// </summary>
    private const string JobsAheadSql =
        $$"""
        SELECT COUNT(*) FROM jobs
        WHERE status = '{{JobStatus.Queued}}' AND created_at <= {1} AND (created_at < {1} OR job_id < {2})
            AND (NOT parked OR owner_key_id = {0})
        """;

    /// <summary>The queued jobs that run first: older ones, other keys' parked jobs left out (they wait for their own key).</summary>
    private Task<int> JobsAheadAsync(JobEntry job, CancellationToken cancellationToken) =>
        db.Jobs.CountAsync(
            j => j.Status == JobStatus.Queued
                && (!j.Parked || j.OwnerKeyId == job.OwnerKeyId)
                && (j.CreatedAt < job.CreatedAt || (j.CreatedAt == job.CreatedAt && string.Compare(j.Id, job.Id) < 0)),
            cancellationToken);
}
