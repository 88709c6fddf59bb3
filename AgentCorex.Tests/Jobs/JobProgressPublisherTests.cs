using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace AgentCorex.Tests.Jobs;

public sealed class JobProgressPublisherTests
{
    [Test]
    public async Task ChattyTool_CannotFloodTheStorage_AndTheLastReportIsStored()
    {
        // Hangfire's storage is the boundary here: what matters is how often it is written, and what last.
        var connection = new Mock<IStorageConnection>();
        var written = new List<string>();
        connection.Setup(c => c.SetJobParameter("42", "progress", It.IsAny<string>()))
            .Callback<string, string, string>((_, _, value) => { lock (written) { written.Add(value); } });
        var storage = new Mock<JobStorage>();
        storage.Setup(s => s.GetConnection()).Returns(connection.Object);
        var time = new FakeTimeProvider();

        var publisher = new JobProgressPublisher(storage.Object, "42", TimeSpan.FromMilliseconds(200), time, NullLogger.Instance);
        for (var round = 0; round < 5; round++)
        {
            for (var i = 1; i <= 1000; i++)
            {
                publisher.Report(new ToolProgress($"step-{round * 1000 + i}", 5000, (round * 1000 + i) / 50));
            }
            time.Advance(TimeSpan.FromMilliseconds(200));
            await Task.Delay(10);
        }
        time.Advance(TimeSpan.FromMilliseconds(200));
        await publisher.DisposeAsync();

        Assert.That(written, Has.Count.InRange(2, 7), "5,000 reports over about a second: a write per 200 ms at most");
        Assert.That(written[^1], Does.Contain("\"current_step\":\"step-5000\""));
    }
}
