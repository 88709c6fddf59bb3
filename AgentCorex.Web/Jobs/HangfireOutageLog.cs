using System.Data.Common;
using AgentCorex.Web.Storage;
using Hangfire.Logging;
using LogLevel = Hangfire.Logging.LogLevel;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// Hangfire's log (Hangfire.AspNetCore's, wrapped), with each warning or error of the database being away written as
/// one line: the message and its exception's type and message, with the innermost cause's ("Failed to remove lock
/// (NpgsqlException: Exception while writing to stream; SocketException: Connection reset by peer)"). Through an outage
/// Hangfire.PostgreSql's distributed locks warn at every try, the servers' heartbeats at each beat, and each server's
/// processes say they failed (an Error), each with a stack trace of some thirty lines that says nothing the line does
/// not: a 60 s outage logged 248 stack frames. Hangfire.SqlServer's start, when it cannot open the database, has its
/// installer warn at each of its three tries and once more, and its schema detection err, about 104 stack frames
/// before the node's own line says what is wrong (SqlClient does not mark a server it cannot reach transient): any
/// database exception of those two categories is one line too. The stack goes to Debug. Any other exception (not an
/// outage's: a fault worth its stack) is left as it is.
/// </summary>
internal sealed class HangfireOutageLog(ILogProvider inner) : ILogProvider
{
    private static readonly string[] SqlServerStart = ["Hangfire.SqlServer.SqlServerObjectsInstaller", "Hangfire.SqlServer.SqlServerStorage"];

    public ILog GetLogger(string name) =>
        new OneLine(inner.GetLogger(name), SqlServerStart.Contains(name, StringComparer.Ordinal) ? e => e is DbException || IsOutage(e) : IsOutage);

    /// <summary>Whether <paramref name="exception"/> is the database being away, or Npgsql's refusal of a connection it broke for that.</summary>
    public static bool IsOutage(Exception exception) =>
        DatabaseFailures.IsUnavailable(exception) || LostConnections.IsLost(exception)
        || exception is InvalidOperationException { Source: "Npgsql" }; // "Connection is not open": the same connection, used again after its break

    private sealed class OneLine(ILog inner, Func<Exception, bool> oneLine) : ILog
    {
        public bool Log(LogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            if (logLevel < LogLevel.Warn || messageFunc is null || exception is null || !oneLine(exception))
            {
                return inner.Log(logLevel, messageFunc!, exception!);
            }
            var cause = exception.GetBaseException();
            var line = cause == exception
                ? $"{messageFunc()} ({exception.GetType().Name}: {exception.Message})"
                : $"{messageFunc()} ({exception.GetType().Name}: {exception.Message}; {cause.GetType().Name}: {cause.Message})";
            var logged = inner.Log(logLevel, () => line);
            inner.Log(LogLevel.Debug, messageFunc, exception);
            return logged;
        }
    }
}
