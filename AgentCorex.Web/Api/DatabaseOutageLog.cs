using AgentCorex.Web.Storage;

namespace AgentCorex.Web.Api;

/// <summary>
/// What a background loop logs while the database is away: the first failure of an outage as one warning line (the
/// cause's message, no stack trace), none of the rest, and one line when the database answers again. Any other failure
/// is the loop's to log. A loop that runs every second would otherwise log a stack trace a second for the outage's
/// length (a two-node audit counted about 95 a node in 20 s). Used by one loop at a time.
/// </summary>
public sealed partial class DatabaseOutageLog(ILogger logger, string loop)
{
    private int failures;

    /// <summary>Notes a failure; true if it was the database being away (logged here, or quietly counted).</summary>
    public bool Failed(Exception exception)
    {
        if (!DatabaseFailures.IsUnavailable(exception))
        {
            return false;
        }
        if (failures++ == 0)
        {
            LogUnreachable(logger, loop, exception.GetBaseException().Message);
        }
        return true;
    }

    /// <summary>Notes a pass that went through: the end of an outage, if there was one.</summary>
    public void Succeeded()
    {
        if (failures > 0)
        {
            LogReachable(logger, loop, failures);
            failures = 0;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Loop} cannot reach the database ({Reason}); it goes on trying")]
    private static partial void LogUnreachable(ILogger logger, string loop, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Loop} reaches the database again, after {Failures} failed tries")]
    private static partial void LogReachable(ILogger logger, string loop, int failures);
}
