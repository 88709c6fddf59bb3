using AgentCorex.Tools;
using AgentCorex.Tools.BuiltIn.Wait;
using Microsoft.Extensions.Time.Testing;
using Moq;

namespace AgentCorex.Tests.Tools;

public sealed class WaitToolTests
{
    [Test]
    public async Task Wait_ReportsProgressAfterEachEqualPart()
    {
        var time = new FakeTimeProvider();
        var context = new Mock<IToolContext>();
        var tool = new WaitTool(time);

        var run = tool.ExecuteAsync(new WaitArguments(DurationMs: 900, Steps: 3), context.Object, CancellationToken.None);
        time.Advance(TimeSpan.FromMilliseconds(299));
        context.Verify(c => c.ReportProgress(It.IsAny<string>(), It.IsAny<int>()), Times.Never, "no part is done before its time");
        for (var part = 1; part <= 3; part++)
        {
            time.Advance(TimeSpan.FromMilliseconds(part == 1 ? 1 : 300));
            await WaitUntilAsync(() => context.Invocations.Count >= part + 1);
        }

        var result = await run;
        Assert.That(result.WaitedMs, Is.EqualTo(900));
        context.Verify(c => c.ReportTotalSteps(3), Times.Once, "the steps it will take, said before the first");
        context.Verify(c => c.ReportProgress("step-1", 3), Times.Once);
        context.Verify(c => c.ReportProgress("step-2", 3), Times.Once);
        context.Verify(c => c.ReportProgress("step-3", 3), Times.Once);
    }

    [Test]
    public async Task Wait_EndsPromptly_WhenCanceled()
    {
        using var cancellation = new CancellationTokenSource();
        var tool = new WaitTool(TimeProvider.System);

        var run = tool.ExecuteAsync(new WaitArguments(DurationMs: 60_000), Mock.Of<IToolContext>(), cancellation.Token);
        await cancellation.CancelAsync();

        // Each part's delay takes the token, so the run ends when the token fires, not at the end of a part.
        Assert.That(async () => await run.WaitAsync(TimeSpan.FromSeconds(1)), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Wait_TakesItsWholeDuration_EvenWhenTimersFireEarly()
    {
        var tool = new WaitTool(new Infrastructure.EarlyTimers(TimeSpan.FromMilliseconds(40)));
        await tool.ExecuteAsync(new WaitArguments(DurationMs: 1), Mock.Of<IToolContext>(), CancellationToken.None); // compiled before it is timed
        var watch = System.Diagnostics.Stopwatch.StartNew();

        await tool.ExecuteAsync(new WaitArguments(DurationMs: 150), Mock.Of<IToolContext>(), CancellationToken.None);

        Assert.That(watch.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(150)));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not met in time");
            await Task.Delay(5);
        }
    }
}
