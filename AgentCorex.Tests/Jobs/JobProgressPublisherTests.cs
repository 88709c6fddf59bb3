using System.Reflection;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace AgentCorex.Tests.Jobs;

// Each test its own storage and clock.
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class JobProgressPublisherTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private readonly List<string> written = [];
    private readonly FakeTimeProvider time = new();

    [Test]
    public async Task ChattyTool_CannotFloodTheStorage_AndTheLastReportIsStored()
    {
        var publisher = Publisher();
        for (var round = 0; round < 5; round++)
        {
            for (var i = 1; i <= 1000; i++)
            {
                publisher.Report(new ToolProgress($"step-{round * 1000 + i}", 5000, (round * 1000 + i) / 50));
            }
            time.Advance(Interval);
            await Task.Delay(10);
        }
        time.Advance(Interval);
        await publisher.DisposeAsync();

        Assert.That(written, Has.Count.InRange(2, 7), "5,000 reports over about a second: a write per 200 ms at most");
        Assert.That(written[^1], Does.Contain("\"current_step\":\"step-5000\""));
    }

    [Test]
    public async Task Dispose_WritesTheLatestReport_WithoutWaitingOutTheInterval()
    {
        var publisher = Publisher();
        publisher.Report(new ToolProgress("step-1", 2, 50));
        publisher.Report(new ToolProgress("step-2", 2, 100));

        // The clock never moves: a dispose that waited for the next write's turn would not end.
        await publisher.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(Written(), Does.Contain("\"current_step\":\"step-2\""));
    }

    [Test]
    public async Task Report_AfterTheDispose_IsNotWritten()
    {
        // No interval: a report not refused is written at once, and the second dispose waits for that write.
        var publisher = Publisher(TimeSpan.Zero);
        publisher.Report(new ToolProgress("step-1", 2, 50));
        await publisher.DisposeAsync();

        // A tool that ignored its token and reports on after its job ended.
        publisher.Report(new ToolProgress("step-2", 2, 100));
        await publisher.DisposeAsync();

        Assert.That(written, Has.Count.EqualTo(1));
        Assert.That(written[0], Does.Contain("\"current_step\":\"step-1\""));
    }

    /// <summary>
    /// The write loop ends inside its lock when it finds nothing pending, and its task completes just after the lock is
    /// released. A report in between that asked that task whether a loop was running started none; every report after it
    /// found one pending and started none either, and the dispose did not write it: the run's progress stayed where it was.
    /// That moment is a few instructions wide and nothing outside the publisher runs in it (thousands of reports timed to
    /// fall around the loop's end never hit it), so the test puts the publisher in the state it leaves: the loop's task,
    /// read by reflection, not yet complete, and nothing pending.
    /// </summary>
    [Test]
    public async Task AReport_AsTheWriteLoopEnds_IsStillWritten()
    {
        var publisher = Publisher(TimeSpan.Zero);
        var ending = new TaskCompletionSource();
        var writer = typeof(JobProgressPublisher).GetField("writer", BindingFlags.NonPublic | BindingFlags.Instance)!;
        writer.SetValue(publisher, ending.Task);

        publisher.Report(new ToolProgress("step-1", 2, 50));
        ending.SetResult();
        publisher.Report(new ToolProgress("step-2", 2, 100));
        await publisher.DisposeAsync();

        Assert.That(Written(), Does.Contain("\"current_step\":\"step-2\""));
    }

    /// <summary>Hangfire's storage is the boundary here: what matters is how often it is written, and what.</summary>
    private JobProgressPublisher Publisher(TimeSpan? interval = null)
    {
        var connection = new Mock<IStorageConnection>();
        connection.Setup(c => c.SetJobParameter("42", "progress", It.IsAny<string>()))
            .Callback<string, string, string>((_, _, value) => { lock (written) { written.Add(value); } });
        var storage = new Mock<JobStorage>();
        storage.Setup(s => s.GetConnection()).Returns(connection.Object);
        return new JobProgressPublisher(storage.Object, "42", interval ?? Interval, time, NullLogger.Instance);
    }

    private string Written()
    {
        lock (written)
        {
            return string.Join("\n", written);
        }
    }
}
