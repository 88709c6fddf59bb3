namespace AgentCorex.Web.Jobs;

/// <summary>The contract's job status values.</summary>
public static class JobStatus
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    public const string Timeout = "timeout";

    public static readonly string[] All = [Queued, Running, Completed, Failed, Canceled, Timeout];

    public static bool IsFinal(string status) => status is Completed or Failed or Canceled or Timeout;
}
