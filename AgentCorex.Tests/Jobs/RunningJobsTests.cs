using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Jobs;

/// <summary>A forced cancel fires the job's token after its cancel is stored: what is registered on it must not undo what follows.</summary>
public sealed class RunningJobsTests
{
    [TestCase(false)]
    [TestCase(true)]
    public void TheJobsToken_FiresWhenACallbackOnItThrows_AndItIsLoggedOnce(bool byHangfire)
    {
        var logs = new CapturedLogs();
        using var loggers = new LoggerFactory([logs]);
        var running = new RunningJobs(loggers.CreateLogger<RunningJobs>());
        using var hangfire = new CancellationTokenSource();
        using var run = running.Register("job_callback", hangfire.Token);
        // As a validator may leave one on the job's token, which it is given.
        run.Token.Register(static () => throw new InvalidOperationException("a validator's hook failed"));

        // A forced cancel here, or the Hangfire job's token (its state changed, its server stopping): what a callback
        // threw went out to the cancel's caller, a DELETE answered 500 or Hangfire's own cancel.
        Assert.That(() =>
        {
            if (byHangfire)
            {
                hangfire.Cancel();
            }
            else
            {
                running.Cancel("job_callback");
            }
        }, Throws.Nothing);

        Assert.That(run.IsCancellationRequested, Is.True);
        Assert.That(logs.At(LogLevel.Warning), Has.One.Contains("job_callback").And.Contains("a validator's hook failed"));
    }
}
