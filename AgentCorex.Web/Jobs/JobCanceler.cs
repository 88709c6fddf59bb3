using AgentCorex.Web.Auth;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Who canceled a job, as the ledger keeps it (the cancel's message), its Hangfire Canceled state gives it as its reason,
/// and its log line says it: its owner, an admin key named by its id (never its secret), or its key's revocation.
/// </summary>
public sealed record JobCanceler(string Who)
{
    public static readonly JobCanceler Revocation = new("the revocation of its API key");

    /// <summary>A run stopped by its Hangfire job's leaving Processing with no cancel stored before (no API call did it).</summary>
    public static readonly JobCanceler HangfireState = new("a change of its Hangfire job's state");

    /// <summary>Said when the run cannot tell who canceled it: the ledger kept no one (a cancel stored before it did).</summary>
    public const string Unknown = "Canceled while running";

    /// <summary>Said of a job canceled before it started whose cancel the ledger kept no one for.</summary>
    public const string UnknownBeforeStart = "Canceled before it started";

    public static JobCanceler Of(ApiKeyIdentity caller, JobEntry job) =>
        new(caller.KeyId == job.OwnerKeyId ? "its owner" : $"admin key {caller.KeyId}");

    /// <summary>The cancel's message, for a job that was in <paramref name="from"/>: "Canceled by its owner while running".</summary>
    public string Reason(string from) => $"Canceled by {Who} {When(from)}";

    /// <summary>When the cancel came, by the status it ended.</summary>
    public static string When(string from) => from == JobStatus.Queued ? "before it started" : "while running";
}
