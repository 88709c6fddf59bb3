using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire.Dashboard;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Dashboard;

internal sealed record EndedJobRow(string JobId, string? HangfireId, string Tool, string Owner, DateTime? EndedAt, string? Reason);

internal sealed record EndedJobsModel(LedgerJobList List, Pager Pager, IReadOnlyList<EndedJobRow> Rows);

/// <summary>
/// One page of a list's jobs, newest first. The ledger, not Hangfire, because Hangfire's monitoring API lists only
/// its built-in states, and the ledger keeps a job after Hangfire has expired (or, embedded, forgotten) it, on every
/// storage alike. Both reads go along the (status, created_at) index.
/// </summary>
internal sealed class EndedJobs(AgentCorexDb db)
{
    // A cancel stored before the ledger kept who made it has no message; when it came is what an operator can still be told.
    private const string CanceledQueued = "Canceled before it started";
    private const string CanceledRunning = "Canceled while running";

    public async Task<EndedJobsModel> ReadAsync(LedgerJobList list, int from, int count, int defaultCount, CancellationToken cancellationToken)
    {
        var jobs = db.Jobs.AsNoTracking().Where(j => j.Status == list.Status);
        if (list.ErrorCode is { } code)
        {
            jobs = jobs.Where(j => j.ErrorCode == code);
        }
        var pager = new Pager(from, count, defaultCount, await jobs.CountAsync(cancellationToken));
        var rows = await (
                from job in jobs.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Skip(pager.FromRecord).Take(pager.RecordsPerPage)
                join key in db.ApiKeys on job.OwnerKeyId equals key.Id into keys
                from key in keys.DefaultIfEmpty()
                orderby job.CreatedAt descending, job.Id descending
                select new EndedJobRow(job.Id, job.HangfireId, job.Tool, key != null ? key.Name : job.OwnerKeyId, job.CompletedAt,
                    job.ErrorMessage ?? (job.Status == JobStatus.Canceled ? (job.StartedAt == null ? CanceledQueued : CanceledRunning) : null)))
            .ToListAsync(cancellationToken);
        return new EndedJobsModel(list, pager, rows);
    }
}
