using AgentCorex.Web.Api;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace AgentCorex.Tests.Api;

/// <summary>A periodic pass's failures are reported, and the loop goes on, until the stop: then it ends saying nothing.</summary>
public sealed class PeriodicWorkTests
{
    private List<Exception> failures = null!;

    [SetUp]
    public void NoFailuresYet() => failures = [];

    /// <summary>What a pass under way throws as the stop comes, other than an OperationCanceledException of its own.</summary>
    private static IEnumerable<TestCaseData> ThrownByTheStop()
    {
        yield return new TestCaseData(new NpgsqlException("Exception while reading from stream", new OperationCanceledException())).SetName("{m}(a wrapped cancellation)");
        // A refused start disposes the container under a pass that is making its scope.
        yield return new TestCaseData(new ObjectDisposedException(nameof(IServiceProvider))).SetName("{m}(the services disposed)");
    }

    [TestCaseSource(nameof(ThrownByTheStop))]
    public async Task APassThatFailsAsTheStopComes_EndsTheLoop_WithNoFailureReported(Exception thrown)
    {
        using var stopping = new CancellationTokenSource();

        await RunAsync(async _ =>
        {
            await stopping.CancelAsync();
            throw thrown;
        }, stopping.Token);

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public async Task APassThatFailsBeforeTheStop_IsReported_AndTheNextPassRuns()
    {
        using var stopping = new CancellationTokenSource();
        var passes = 0;

        await RunAsync(async _ =>
        {
            if (++passes == 2)
            {
                await stopping.CancelAsync();
                return;
            }
            throw new InvalidOperationException("a pass of its own failed");
        }, stopping.Token, interval: TimeSpan.Zero);

        Assert.That(failures.Select(f => f.Message), Is.EqualTo(new[] { "a pass of its own failed" }));
    }

    private Task RunAsync(Func<CancellationToken, Task> pass, CancellationToken stoppingToken, TimeSpan? interval = null) =>
        PeriodicWork.RunAsync(() => interval ?? TimeSpan.FromSeconds(5), new FakeTimeProvider(), atOnce: true, pass, failures.Add,
            new DatabaseOutageLog(NullLogger.Instance, "The test's pass"), stoppingToken).WaitAsync(TimeSpan.FromSeconds(10));
}
