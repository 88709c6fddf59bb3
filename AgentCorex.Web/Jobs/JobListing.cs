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
        var status = query.StatusFilter();
        if (status is not null)
        {
            jobs = jobs.Where(j => j.Status == status);
        }
        if (query.Tool is not null && status is not null && db.Database.IsSqlite())
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

    /// <summary>The one status the query asks for; null for every status (<c>all</c>, or left out).</summary>
    public static string? StatusFilter(this JobListQuery query) => query.Status is JobListQuery.AnyStatus ? null : query.Status;

    /// <summary>
    /// One page's jobs: its ids first (<see cref="PageIds"/>), then their rows by key. Read in one query, a page
    /// made PostgreSQL fetch from the table every row its offset passed over: 108-253 ms half a million jobs deep.
    /// </summary>
    public static IQueryable<JobEntry> Page(this AgentCorexDb db, ApiKeyIdentity caller, JobListQuery query)
    {
        var ids = db.PageIds(caller, query);
        return db.Jobs.AsNoTracking().Where(j => ids.Contains(j.Id)).NewestFirst();
    }

    /// <summary>
    /// The ids of one page, newest first, ties broken by id so that pages never overlap. Each filter has an index
    /// in this order that holds the id (<see cref="JobEntryConfiguration"/>): the ids are read from it alone, and
    /// an offset passes over its entries, never over rows.
    /// </summary>
    public static IQueryable<string> PageIds(this AgentCorexDb db, ApiKeyIdentity caller, JobListQuery query) =>
        db.Matching(caller, query).NewestFirst().Skip(query.Offset).Take(query.Limit).Select(j => j.Id);

    private static IOrderedQueryable<JobEntry> NewestFirst(this IQueryable<JobEntry> jobs) =>
        jobs.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id);
}
