using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Health;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Health;

/// <summary>/health/ready needs no key: a flood of it costs the database one probe at a time, and at most one a second.</summary>
public sealed class ReadinessProbeTests
{
    [Test]
    public async Task ReadinessRequests_AtOnce_StartOneProbe_WhoseAnswerStandsForASecond()
    {
        var clock = new FakeTimeProvider();
        using var app = new AgentCorexApp();
        using var node = app.WithProbeClock(clock);
        using var client = node.CreateClient();
        var probe = node.Services.GetRequiredService<DatabaseProbe>();

        var atOnce = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync("/health/ready")));
        var startedAtOnce = probe.Started;
        clock.Advance(DatabaseProbe.Reuse - TimeSpan.FromMilliseconds(1));
        var within = await client.GetAsync("/health/ready");
        var startedWithin = probe.Started;
        clock.Advance(TimeSpan.FromMilliseconds(1));
        var after = await client.GetAsync("/health/ready");

        Assert.Multiple(() =>
        {
            Assert.That(atOnce.Append(within).Append(after).Select(r => r.StatusCode), Is.All.EqualTo(HttpStatusCode.OK));
            Assert.That(startedAtOnce, Is.EqualTo(1), "twenty requests at once, one probe");
            Assert.That(startedWithin, Is.EqualTo(1), "its answer given again within the second");
            Assert.That(probe.Started, Is.EqualTo(2), "a new probe once the second has passed");
        });
    }
}
