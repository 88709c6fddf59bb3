namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// The system's time, with timers that fire <paramref name="early"/> before they are due, every time: what .NET's
/// timers do by a few ms on Linux, where they keep a coarse clock, made large enough to see.
/// </summary>
public sealed class EarlyTimers(TimeSpan early) : TimeProvider
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new Early(base.CreateTimer(callback, state, Sooner(dueTime), period), this);

    private TimeSpan Sooner(TimeSpan dueTime) => dueTime > early ? dueTime - early : TimeSpan.Zero;

    /// <summary>A timer changed later fires early as well.</summary>
    private sealed class Early(ITimer timer, EarlyTimers provider) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period) => timer.Change(provider.Sooner(dueTime), period);

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();
    }
}
