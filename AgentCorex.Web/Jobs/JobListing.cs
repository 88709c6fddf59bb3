using AgentCorex.Web.Auth;

namespace AgentCorex.Web.Jobs;

/// <summary>GET /jobs as a query: which jobs a caller may list, and one page of them, newest first.</summary>
internal static class JobListing
{
    /// <summary>The caller's jobs (every job for an admin key) that pass the query's filters.</summary>
    public static IQueryable<JobEntry> Matching(this IQueryable<JobEntry> jobs, ApiKeyIdentity caller, JobListQuery query)
    {
        if (!caller.IsAdmin)
        {
            jobs = jobs.Where(j => j.OwnerKeyId == caller.KeyId);
        }
        if (query.Status is { } status and not JobListQuery.AnyStatus)
        {
            jobs = jobs.Where(j => j.Status == status);
        }
        if (query.Tool is not null && query.Status is not null and not JobListQuery.AnyStatus)
        {
            // Both filters: the status index, whose trailing tool column checks the tool without reading the row,
            // bounds the count by that status's index entries. The tool index would read every row of the tool to
            // check its status. `tool || ''` keeps SQLite (no statistics) and the other databases off that index.
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
