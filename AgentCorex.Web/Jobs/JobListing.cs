using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

/// <summary>GET /jobs as a query: which jobs a caller may list, and one page of them, newest first.</summary>
internal static class JobListing
{
    /// <summary>The caller's jobs (every job for an admin key) that pass the query's filters, read without tracking.</summary>
    public static IQueryable<JobEntry> Matching(this AgentCorexDb db, ApiKeyIdentity caller, JobListQuery query)
    {
        var jobs = db.Jobs.AsNoTracking();
        if (!caller.IsAdmin)
        {
            jobs = jobs.Where(j => j.OwnerKeyId == caller.KeyId);
        }
        if (query.Status is { } status and not JobListQuery.AnyStatus)
        {
            jobs = jobs.Where(j => j.Status == status);
        }
        if (query.Tool is not null && query.Status is not null and not JobListQuery.AnyStatus && db.Database.IsSqlite())
        {
            // Both filters, on SQLite, which has no statistics to choose by: the status index, whose trailing tool
            // column checks the tool without reading the row, bounds the work by that status's index entries; the
            // tool index would read every row of the tool to check its status. `tool || ''` keeps it off that index.
            // PostgreSQL and SQL Server choose by their statistics (a rare tool's index, for one).
            jobs = jobs.Where(j => j.Tool + "" == query.Tool);
        }
        else if (query.Tool is not null)
        {
            jobs = jobs.Where(j => j.Tool == query.Tool);
        }
        return jobs;
    }

    /// <summary>
    /// Newest first, ties broken by id so that pages never overlap. Each filter has an index in this order
    /// (<see cref="JobEntryConfiguration"/>): no page sorts, and a deep page skips index entries.
    /// </summary>
    public static IQueryable<JobEntry> Page(this IQueryable<JobEntry> jobs, JobListQuery query) =>
        jobs.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Skip(query.Offset).Take(query.Limit);
}
