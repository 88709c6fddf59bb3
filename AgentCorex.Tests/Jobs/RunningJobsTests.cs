using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Jobs;

/// <summary>A forced cancel fires the job's token after its cancel is stored: what is registered on it must not undo what follows.</summary>
public sealed class RunningJobsTests
{
    [Test]
    public void Cancel_FiresTheJobsToken_WhenACallbackOnItThrows_AndLogsItOnce()
    {
        var logs = new CapturedLogs();
        using var loggers = new LoggerFactory([logs]);
        var running = new RunningJobs(loggers.CreateLogger<RunningJobs>());
        using var cancellation = running.Register("job_callback", CancellationToken.None);
        // As a validator may leave one on the job's token, which it is given.
        cancellation.Token.Register(static () => throw new InvalidOperationException("a validator's hook failed"));

        Assert.That(() => running.Cancel("job_callback"), Throws.Nothing);

        Assert.That(cancellation.IsCancellationRequested, Is.True);
        Assert.That(logs.At(LogLevel.Warning), Has.One.Contains("job_callback").And.Contains("a validator's hook failed"));
    }
}
