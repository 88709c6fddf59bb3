namespace AgentCorex.Web.Webhooks;

/// <summary>The events a webhook can subscribe to, one per final or visible change of a job's status.</summary>
public static class JobEventNames
{
    public const string Queued = "job.queued";
    public const string Started = "job.started";
    public const string Completed = "job.completed";
    public const string Failed = "job.failed";
    public const string Canceled = "job.canceled";
    public const string Timeout = "job.timeout";

    public static readonly string[] All = [Queued, Started, Completed, Failed, Canceled, Timeout];

    /// <summary>The event's bit, for the subscription cache: 0 for an unknown name.</summary>
    public static int Bit(string name) => Array.IndexOf(All, name) is var i and >= 0 ? 1 << i : 0;

    public static int Bits(string storedEvents) => storedEvents.Split(',').Aggregate(0, (bits, name) => bits | Bit(name));

    /// <summary>The job status an event reports.</summary>
    public static string StatusOf(string name) => name switch
    {
        Started => Jobs.JobStatus.Running,
        _ => name["job.".Length..],
    };
}
