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
        if (query.Tool is not null)
        {
            jobs = jobs.Where(j => j.Tool == query.Tool);
        }
        return jobs;
    }

    /// <summary>
    /// Newest first, ties broken by id so that pages never overlap. An owner's page reads ix_jobs_owner_created
    /// (or ix_jobs_owner_status_created), an admin key's ix_jobs_created: neither sorts the whole ledger.
    /// </summary>
    public static IQueryable<JobEntry> Page(this IQueryable<JobEntry> jobs, JobListQuery query) =>
        jobs.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Skip(query.Offset).Take(query.Limit);
}
