using AgentCorex.Web.Jobs;

namespace AgentCorex.Web.Monitoring;

/// <summary>
/// The scope of every log line about one job: its job_id, tool and owner's key_id (the key's id, never the key).
/// The JSON log writes them as fields of the line's scope; the plain log shows "job … of … for …" when scopes are on.
/// </summary>
public static class JobLogScope
{
    private static readonly Func<ILogger, string, string, string, IDisposable?> Scope =
        LoggerMessage.DefineScope<string, string, string>("job {job_id} of {tool} for {key_id}");

    public static IDisposable? Begin(ILogger logger, JobEntry job) => Scope(logger, job.Id, job.Tool, job.OwnerKeyId);

    public static IDisposable? Begin(ILogger logger, string jobId, string tool, string keyId) => Scope(logger, jobId, tool, keyId);
}
