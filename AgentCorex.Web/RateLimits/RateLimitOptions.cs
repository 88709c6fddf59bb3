namespace AgentCorex.Web.RateLimits;

/// <summary>A plan's limits; null means unlimited.</summary>
public sealed class PlanLimits
{
    public int? RequestsPerMinute { get; set; }

    public int? MaxConcurrent { get; set; }
}

public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    public bool Enabled { get; set; } = true;

    /// <summary>The contract's plans; enterprise is set here (RateLimits:Plans:enterprise:RequestsPerMinute, :MaxConcurrent).</summary>
    public Dictionary<string, PlanLimits> Plans { get; set; } = new(StringComparer.Ordinal)
    {
        ["free"] = new() { RequestsPerMinute = 10, MaxConcurrent = 1 },
        ["pro"] = new() { RequestsPerMinute = 100, MaxConcurrent = 5 },
        ["enterprise"] = new() { RequestsPerMinute = 1_000, MaxConcurrent = 50 },
    };

    /// <summary>Admin keys: unlimited unless set.</summary>
    public PlanLimits Admin { get; set; } = new();

    /// <summary>Every other endpoint, per key: loose, so no key can flood the server.</summary>
    public int ApiRequestsPerMinute { get; set; } = 1_200;
}
