using AgentCorex.Web.Api;

namespace AgentCorex.Tests.Api;

/// <summary>
/// What the host sees of a background loop as it ends: nothing wrong once the loop was asked to stop, however its
/// cancellation came out; a failure otherwise. A refused start disposes the services without stopping the host, which
/// then logged a canceled loop as "BackgroundService failed", and at Critical that it stops (StartupErrorTests).
/// </summary>
public sealed class BackgroundLoopTests
{
    private sealed class Loop(Func<CancellationToken, Task> body) : BackgroundLoop
    {
        public bool Ran { get; private set; }

        protected override Task ExecuteAsync(CancellationToken stoppingToken)
        {
            Ran = true;
            return body(stoppingToken);
        }
    }

    [Test]
    public async Task Disposed_ALoopThatLetsItsCancellationOut_EndsQuietly()
    {
        using var loop = new Loop(stoppingToken => Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken));
        await loop.StartAsync(CancellationToken.None);

        loop.Dispose();

        Assert.That(async () => await loop.ExecuteTask!, Throws.Nothing);
    }

    [Test]
    public async Task StoppedBeforeItsLoopRan_EndsQuietly()
    {
        // BackgroundService starts the loop by Task.Run with the stopping token: canceled first, the loop never runs.
        using var loop = new Loop(_ => Task.CompletedTask);

        await loop.StartAsync(new CancellationToken(canceled: true));

        Assert.That(async () => await loop.ExecuteTask!, Throws.Nothing);
        Assert.That(loop.Ran, Is.False);
    }

    [Test]
    public async Task ACancellationNoStopAskedFor_StillEndsItAsCanceled()
    {
        using var timeout = new CancellationTokenSource();
        await timeout.CancelAsync();
        using var loop = new Loop(_ => Task.FromCanceled(timeout.Token));

        await loop.StartAsync(CancellationToken.None);

        Assert.That(async () => await loop.ExecuteTask!, Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task AFailureOfItsOwn_AfterItWasAskedToStop_StillFailsIt()
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var loop = new Loop(async stoppingToken =>
        {
            running.SetResult();
            await Task.WhenAny(Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken)); // the stop, not thrown
            throw new InvalidOperationException("its own failure");
        });
        await loop.StartAsync(CancellationToken.None);
        await running.Task.WaitAsync(TimeSpan.FromSeconds(10));

        loop.Dispose();

        Assert.That(async () => await loop.ExecuteTask!, Throws.InvalidOperationException.With.Message.EqualTo("its own failure"));
    }
}
