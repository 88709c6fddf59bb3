using AgentCorex.Web.Storage;
using Npgsql;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The lock rows of job state changes that an outage interrupted. Hangfire takes <c>job:{id}:state-lock</c> for each
/// state change, which Hangfire.PostgreSql keeps as a committed row of <c>hangfire.lock</c> on a connection of its own: an
/// outage that cuts that connection between the insert and the delete leaves the row (the delete is skipped, or its
/// failure swallowed). Hangfire's worker tries the state change again, logging only at Debug, and once the database is
/// back waits on its own row, which the library deletes only once older than its DistributedLockTimeout
/// (Jobs:InvisibilityTimeout, 5 min): the worker was held that long with nothing in the log. A state change holds its
/// lock for milliseconds, so a row taken before the outage began is no live one's. PostgreSQL only: SQL Server's locks
/// are sp_getapplock's, ended with their session.
/// </summary>
internal static partial class InterruptedStateChanges
{
    /// <summary>Deletes the job state locks taken before <paramref name="outageBegan"/>, logging how many if any.</summary>
    public static async Task ReleaseAsync(NpgsqlConnection connection, DateTimeOffset outageBegan, ILogger logger, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""DELETE FROM "{HangfireStorage.SchemaName}"."lock" WHERE "resource" LIKE $1 AND "acquired" < $2""", connection);
        // Hangfire.PostgreSql prefixes each resource with its schema's name.
        command.Parameters.Add(new() { Value = $"{HangfireStorage.SchemaName}:job:%:state-lock" });
        command.Parameters.Add(new() { Value = outageBegan.UtcDateTime });
        try
        {
            var released = await command.ExecuteNonQueryAsync(cancellationToken);
            if (released > 0)
            {
                LogReleased(logger, released);
            }
        }
        catch (PostgresException e) when (!LostConnections.IsLost(e))
        {
            // Refused, not cut off (a role without the right to delete there): said once and left, as the library's
            // own timeout still ends such a row; thrown, it would keep the watch from ever watching again.
            LogNotReleased(logger, e.MessageText);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} job state locks that the database outage left held (their state changes were cut off)")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the job state locks the database outage left held ({Reason}): their jobs wait until Jobs:InvisibilityTimeout")]
    private static partial void LogNotReleased(ILogger logger, string reason);
}
