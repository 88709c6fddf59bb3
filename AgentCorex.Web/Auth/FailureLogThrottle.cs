namespace AgentCorex.Web.Auth;

/// <summary>
/// Which failed authentications are logged, per remote address (an IPv6 one by its /64, <see cref="FailedAuthentications.Sender"/>):
/// the first at once, then at most one line a <see cref="Window"/>, saying how many were not logged since the last. A
/// client hammering with a bad key costs a line a minute. At most a fixed number of addresses are tracked, since anyone can send from many: while the table is
/// full, failures from other addresses are only counted, for one line a sweep, rather than each new address taking
/// an old one's place and logging at once (a fuzzer on many addresses would then flood the log anyway). An address
/// quiet for a whole window is forgotten at the next <see cref="Sweep"/>.
/// </summary>
internal sealed class FailureLogThrottle(TimeProvider time, int maxAddresses = FailureLogThrottle.MaxAddresses)
{
    public const int MaxAddresses = 1024;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly Lock gate = new();
    private readonly Dictionary<string, Tracked> addresses = new(StringComparer.Ordinal);
    private long untracked;

    /// <summary>Null when this failure is not to be logged; else how many from the address were not logged before it.</summary>
    public long? Admit(string address)
    {
        var now = time.GetUtcNow();
        lock (gate)
        {
            if (addresses.TryGetValue(address, out var tracked))
            {
                return now - tracked.LoggedAt < Window ? tracked.Suppress() : tracked.Restart(now);
            }
            if (addresses.Count >= maxAddresses)
            {
                untracked++;
                return null;
            }
            addresses[address] = new Tracked(now);
            return 0;
        }
    }

    /// <summary>
    /// The addresses whose window ended with failures not logged, and how many each had (each begins a new window, as
    /// if logged now); and how many failures came, since the last sweep, from addresses the table had no room for.
    /// </summary>
    public (IReadOnlyList<(string Address, long Suppressed)> Addresses, long Untracked) Sweep()
    {
        var now = time.GetUtcNow();
        var due = new List<(string, long)>();
        lock (gate)
        {
            foreach (var (address, tracked) in addresses)
            {
                if (now - tracked.LoggedAt < Window)
                {
                    continue;
                }
                if (tracked.Suppressed == 0)
                {
                    addresses.Remove(address);
                }
                else
                {
                    due.Add((address, tracked.Restart(now)));
                }
            }
            var overflow = untracked;
            untracked = 0;
            return (due, overflow);
        }
    }

    private sealed class Tracked(DateTimeOffset loggedAt)
    {
        public DateTimeOffset LoggedAt { get; private set; } = loggedAt;

        public long Suppressed { get; private set; }

        public long? Suppress()
        {
            Suppressed++;
            return null;
        }

        /// <summary>A line is logged now: returns how many were not, since the last.</summary>
        public long Restart(DateTimeOffset now)
        {
            var suppressed = Suppressed;
            Suppressed = 0;
            LoggedAt = now;
            return suppressed;
        }
    }
}
