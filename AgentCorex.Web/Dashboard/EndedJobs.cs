using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.Dashboard;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Dashboard;

/// <param name="StartedAt">When it started, for whether its Hangfire job can still be opened.</param>
/// <param name="HangfireKept">Whether Hangfire still has its job: one that expired, or that a restart of the embedded executor forgot, is not linked.</param>
internal sealed record EndedJobRow(string JobId, string? HangfireId, string Tool, string Owner, DateTime? StartedAt, DateTime? EndedAt, string? Reason, bool HangfireKept = false);

/// <param name="HangfireExpiration">How long Hangfire keeps a job after it ends.</param>
/// <param name="HangfireForgetsOnRestart">Whether a restart forgets it sooner (the embedded executor).</param>
/// <param name="HangfireMaxFinishedJobs">After how many later ends it drops it sooner (the embedded executor).</param>
internal sealed record EndedJobsModel(
    LedgerJobList List, Pager Pager, IReadOnlyList<EndedJobRow> Rows, TimeSpan HangfireExpiration, bool HangfireForgetsOnRestart, int? HangfireMaxFinishedJobs);

/// <summary>
/// One page of a list's jobs, the latest ended first. The ledger, not Hangfire, because Hangfire's monitoring API lists
/// only its built-in states, and the ledger keeps a job after Hangfire has expired (or, embedded, forgotten) it, on every
/// storage alike. Both reads go along the ended index (status, completed_at, job_id, error_code).
/// </summary>
internal sealed class EndedJobs(AgentCorexDb db, HangfireExecutor executor, TimeProvider time)
{
    public async Task<EndedJobsModel> ReadAsync(LedgerJobList list, int from, int count, int defaultCount, JobStorage hangfire, CancellationToken cancellationToken)
    {
        var jobs = db.Listed(list);
        var pager = new Pager(from, count, defaultCount, await jobs.CountAsync(cancellationToken));
        var rows = await (
                from job in jobs.LatestEndedFirst().Skip(pager.FromRecord).Take(pager.RecordsPerPage)
                join key in db.ApiKeys on job.OwnerKeyId equals key.Id into keys
                from key in keys.DefaultIfEmpty()
                orderby job.CompletedAt descending, job.Id descending
                // A cancel stored before the ledger kept who made it has no message: when it came is what can still be told.
                select new EndedJobRow(job.Id, job.HangfireId, job.Tool, key != null ? key.Name : job.OwnerKeyId, job.StartedAt, job.CompletedAt,
                    job.ErrorMessage ?? (job.Status == JobStatus.Canceled ? (job.StartedAt == null ? JobCanceler.UnknownBeforeStart : JobCanceler.Unknown) : null)))
            .ToListAsync(cancellationToken);
        var expiration = HangfireStorage.JobExpiration(hangfire);
        var expiredBefore = time.GetUtcNow().UtcDateTime - expiration;
        // The embedded executor has only the jobs it ran itself: one that started before this process is forgotten.
        var kept = rows.Select(row => row with
        {
            HangfireKept = row.EndedAt >= expiredBefore && (!executor.ForgetsOnRestart || row.StartedAt >= executor.StartedAt),
        }).ToList();
        if (executor.MaxFinishedJobs is not null)
        {
            // Dropped once so many jobs ended after it, which the ledger cannot tell: asked of Hangfire, in memory, for a page's rows.
            using var connection = hangfire.GetConnection();
            kept = [.. kept.Select(row => row is { HangfireKept: true, HangfireId: { } id } && connection.GetStateData(id) is null ? row with { HangfireKept = false } : row)];
        }
        return new EndedJobsModel(list, pager, kept, expiration, executor.ForgetsOnRestart, executor.MaxFinishedJobs);
    }
}

internal static class EndedJobQueries
{
    /// <summary>
    /// A list's jobs. Its status is written into the SQL as a constant, as the ended index's filter has it: SQLite uses
    /// a partial index only for a term it can match to the filter, which a parameter is not.
    /// </summary>
    public static IQueryable<JobEntry> Listed(this AgentCorexDb db, LedgerJobList list)
    {
        var jobs = db.Jobs.AsNoTracking().Where(j => j.Status == EF.Constant(list.Status));
        return list.ErrorCode is { } code ? jobs.Where(j => j.ErrorCode == code) : jobs;
    }

    /// <summary>The column the lists show is when a job ended: newest first, the job id breaking ties for a stable paging.</summary>
    public static IQueryable<JobEntry> LatestEndedFirst(this IQueryable<JobEntry> jobs) =>
        jobs.OrderByDescending(j => j.CompletedAt).ThenByDescending(j => j.Id);
}
