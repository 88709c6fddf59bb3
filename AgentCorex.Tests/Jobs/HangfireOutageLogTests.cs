using System.Net.Sockets;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire.AspNetCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using HangfireLevel = Hangfire.Logging.LogLevel;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// What Hangfire logs of an outage, through the node's wrapper of its log: any category's warning or error of the
/// database being away in one line, its stack trace at Debug (a 60 s outage logged 248 stack frames, from its workers'
/// Failed state and its heartbeats' warnings besides Hangfire.PostgreSql's); a fault's stack is kept.
/// </summary>
public sealed class HangfireOutageLogTests
{
    [TestCase("Hangfire.Processing.BackgroundExecution", HangfireLevel.Error, "Execution Worker is in the Failed state now due to an exception")]
    [TestCase("Hangfire.Server.ServerHeartbeatProcess", HangfireLevel.Warn, "Server vm:1 encountered an exception while sending heartbeat")]
    [TestCase("Hangfire.PostgreSql.PostgreSqlDistributedLock", HangfireLevel.Warn, "Failed to remove lock")]
    public void AnOutage_IsOneLine_ItsStackTraceAtDebug(string category, HangfireLevel level, string message)
    {
        var logs = Log(category, level, message, Thrown(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused))));

        Assert.Multiple(() =>
        {
            var line = logs.At(level == HangfireLevel.Error ? LogLevel.Error : LogLevel.Warning).Single();
            Assert.That(line, Does.Contain(message).And.Contain("(NpgsqlException: Failed to connect to 127.0.0.1:5432; SocketException: Connection refused)"));
            Assert.That(line, Does.Not.Contain("   at "), "no stack trace");
            Assert.That(logs.At(LogLevel.Debug).Single(), Does.Contain("   at "), "the stack trace, at Debug");
        });
    }

    [Test]
    public void AFault_KeepsItsStackTrace()
    {
        var logs = Log("Hangfire.Processing.BackgroundExecution", HangfireLevel.Error, "Execution Worker is in the Failed state now due to an exception", Thrown(new InvalidCastException("a fault")));

        Assert.That(logs.At(LogLevel.Error).Single(), Does.Contain("   at "));
    }

    private static CapturedLogs Log(string category, HangfireLevel level, string message, Exception exception)
    {
        var logs = new CapturedLogs();
        using var factory = LoggerFactory.Create(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        new HangfireOutageLog(new AspNetCoreLogProvider(factory)).GetLogger(category).Log(level, () => message, exception);
        return logs;
    }

    private static Exception Thrown(Exception exception)
    {
        try
        {
            throw exception;
        }
        catch (Exception thrown)
        {
            return thrown;
        }
    }
}
