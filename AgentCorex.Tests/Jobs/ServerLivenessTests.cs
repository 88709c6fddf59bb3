using AgentCorex.Web.Jobs;
using Hangfire;

namespace AgentCorex.Tests.Jobs;

/// <summary>How each node's Hangfire servers say they live, and when one is taken for dead.</summary>
public sealed class ServerLivenessTests
{
    /// <summary>
    /// A server that cannot write its heartbeat for Jobs:ServerTimeout restarts in place and cuts off its running jobs,
    /// so by default a database outage of less than 5 minutes (Hangfire's own default) interrupts none. The heartbeat
    /// and the check stay frequent, so a dead node still leaves the dashboard's Servers within about 5¼ minutes.
    /// </summary>
    [Test]
    public void ByDefault_AServerIsTakenForDeadAfterFiveMinutes_ItsHeartbeatAndTheCheckEvery15Seconds()
    {
        var server = new BackgroundJobServerOptions();

        ServerLiveness.ApplyTo(server, new JobsOptions());

        Assert.Multiple(() =>
        {
            Assert.That(server.ServerTimeout, Is.EqualTo(TimeSpan.FromMinutes(5)), "an outage shorter than this cuts no job off");
            Assert.That(server.HeartbeatInterval, Is.EqualTo(TimeSpan.FromSeconds(15)));
            Assert.That(server.ServerCheckInterval, Is.EqualTo(TimeSpan.FromSeconds(15)));
        });
    }
}
