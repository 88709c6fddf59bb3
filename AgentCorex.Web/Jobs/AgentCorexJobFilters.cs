using Hangfire;
using Hangfire.Common;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Hangfire's filters for AgentCorex's own jobs (tool runs, webhook deliveries): every filter as configured, less
/// two of Hangfire's defaults they never use, each of which costs storage round trips per job.
/// <list type="bullet">
/// <item>Culture capture: it stores the creating thread's culture as a job parameter and reads it back (twice) as
/// the job starts. A tool gets JSON arguments and no request carries a culture, so the worker's culture is the one
/// it would capture: the server's.</item>
/// <item>Continuations: as any job ends, it reads the job's <c>Continuations</c> parameter to start what waits on
/// it. Nothing ever continues an AgentCorex job (no <c>ContinueJobWith</c> on them).</item>
/// </list>
/// Other jobs on the same storage (a host's own, the benchmark's raw Hangfire jobs) keep every filter. Every job gets
/// this server's own filters (<paramref name="server"/>): Hangfire's global filters are process-wide, and a filter
/// that keeps state of one storage's jobs must not see another server's in the same process (the tests).
/// </summary>
internal sealed class AgentCorexJobFilters(IJobFilterProvider configured, params IReadOnlyList<object> server) : IJobFilterProvider
{
    private readonly JobFilter[] own = [.. server.Select(f => new JobFilter(f, JobFilterScope.Global, order: null))];

    public IEnumerable<JobFilter> GetFilters(Job job)
    {
        var filters = configured.GetFilters(job);
        filters = job?.Type.Assembly == typeof(AgentCorexJobFilters).Assembly
            ? filters.Where(f => f.Instance is not (CaptureCultureAttribute or ContinuationsSupportAttribute))
            : filters;
        return own.Length == 0 ? filters : filters.Concat(own);
    }
}
