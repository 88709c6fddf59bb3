namespace AgentCorex.Web.Api;

public static class UnixTime
{
    /// <summary>The contract's timestamps: whole seconds since the Unix epoch.</summary>
    public static long ToUnixSeconds(this DateTime utc) =>
        new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToUnixTimeSeconds();

    public static long? ToUnixSeconds(this DateTime? utc) => utc?.ToUnixSeconds();
}
