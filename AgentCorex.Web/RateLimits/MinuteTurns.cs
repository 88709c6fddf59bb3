namespace AgentCorex.Web.RateLimits;

/// <summary>Which count is a node's first of a new minute, for a clean-up done once a minute by the request that finds it.</summary>
internal static class MinuteTurns
{
    /// <summary>
    /// Whether <paramref name="minute"/> is later than <paramref name="last"/>, which it then becomes, for one caller
    /// only. A late request of the minute before does not take it back (else the next request of the new minute did
    /// the clean-up again).
    /// </summary>
    public static bool FirstOf(ref long last, long minute)
    {
        var seen = Volatile.Read(ref last);
        while (seen < minute)
        {
            var before = Interlocked.CompareExchange(ref last, minute, seen);
            if (before == seen)
            {
                return true;
            }
            seen = before;
        }
        return false;
    }
}
