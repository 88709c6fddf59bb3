using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// Runs an action at the first measurement of one of a server's counters, on the thread that measured it: a way to
/// act at a precise step of a request (the measurement sits right after the step's commit) without timing it.
/// </summary>
public sealed class FirstMeasurement : IDisposable
{
    private readonly MeterListener listener = new();
    private int fired;

    /// <param name="when">Whether a measurement is the one awaited, by its tags.</param>
    public FirstMeasurement(AgentCorexApp app, string instrument, Func<IReadOnlyDictionary<string, object?>, bool> when, Action action)
    {
        var meters = app.Services.GetRequiredService<IMeterFactory>(); // this server's instruments, not another fixture's
        listener.InstrumentPublished = (published, l) =>
        {
            if (published.Name == instrument && ReferenceEquals(published.Meter.Scope, meters))
            {
                l.EnableMeasurementEvents(published);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var byName = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                byName[tag.Key] = tag.Value;
            }
            if (when(byName) && Interlocked.Exchange(ref fired, 1) == 0)
            {
                action();
            }
        });
        listener.Start();
    }

    public bool Fired => Volatile.Read(ref fired) == 1;

    public void Dispose() => listener.Dispose();
}
