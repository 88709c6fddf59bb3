using AgentCorex.Web.Storage;
using Npgsql;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The lock rows of job state changes that an outage interrupted. Hangfire takes <c>job:{id}:state-lock</c> for each
/// state change, which Hangfire.PostgreSql keeps as a committed row of <c>hangfire.lock</c> on a connection of its own: an
/// outage that cuts that connection between the insert and the delete leaves the row (the delete is skipped, or its
/// failure swallowed). Hangfire's worker tries the state change again, logging only at Debug, and once the database is
/// back waits on its own row, which the library deletes only once older than its DistributedLockTimeout
/// (Jobs:InvisibilityTimeout, 5 min): the worker was held that long with nothing in the log. A row taken before the
/// outage began may still be a live state change's: the watch's own connection ended alone (a blip, an operator's
/// pg_terminate_backend) counts as an outage, and one node's outage is none of the other nodes sharing the database,
/// whose rows are released too. So only rows at least <see cref="MinimumAge"/> old go, which no live state change's
/// is. PostgreSQL only: SQL Server's locks are sp_getapplock's, ended with their session.
/// </summary>
internal static partial class InterruptedStateChanges
{
    /// <summary>
    /// How old a state lock must be to be taken for a cut-off one. A state change holds its lock for milliseconds (a read,
    /// Hangfire's filters, one transaction): 30 s is far above one slowed by load, and still frees a held worker within
    /// tens of seconds rather than 5 minutes. <c>acquired</c> is the clock of the node that took the lock (Hangfire.PostgreSql
    /// writes its DateTime.UtcNow, not the server's now()), which the library itself compares with the clock of the
    /// node taking the lock next: no clock is the database's, so this node's is used as the library does, and a skew
    /// between nodes comes off the 30 s.
    /// </summary>
    public static readonly TimeSpan MinimumAge = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Deletes the job state locks taken before <paramref name="outageBegan"/> and at least <see cref="MinimumAge"/> old
    /// at <paramref name="now"/>, logging how many if any. Returns, while the outage began less than
    /// <see cref="MinimumAge"/> before <paramref name="now"/>, how long until it began that long ago: a second pass is due
    /// then, whether or not any lock was kept (the delete does not count those it left). Zero once it began longer ago
    /// (every lock taken before it is old enough, and went), or when the delete was refused.
    /// </summary>
    public static async Task<TimeSpan> ReleaseAsync(
        NpgsqlConnection connection, DateTimeOffset outageBegan, DateTimeOffset now, ILogger logger, CancellationToken cancellationToken)
    {
        var oldEnough = now - MinimumAge;
        await using var command = new NpgsqlCommand(
            $"""DELETE FROM "{HangfireStorage.SchemaName}"."lock" WHERE "resource" LIKE $1 AND "acquired" < $2""", connection);
        // Hangfire.PostgreSql prefixes each resource with its schema's name.
        command.Parameters.Add(new() { Value = $"{HangfireStorage.SchemaName}:job:%:state-lock" });
        command.Parameters.Add(new() { Value = (outageBegan < oldEnough ? outageBegan : oldEnough).UtcDateTime });
        try
        {
            var released = await command.ExecuteNonQueryAsync(cancellationToken);
            if (released > 0)
            {
                LogReleased(logger, released);
            }
            return UntilOldEnough(outageBegan, now);
        }
        catch (PostgresException e) when (!LostConnections.IsLost(e))
        {
            // Refused, not cut off (a role without the right to delete there): said once and left, as the library's
            // own timeout still ends such a row; thrown, it would keep the watch from ever watching again.
            LogNotReleased(logger, e.MessageText);
            return TimeSpan.Zero;
        }
    }

    /// <summary>
    /// How long until a lock taken as <paramref name="outageBegan"/> is <see cref="MinimumAge"/> old, rounded up to whole
    /// milliseconds: the watch waits for it with Npgsql's timed wait, which cuts it to whole milliseconds and waits without
    /// end for zero, so a 0.3 ms left (the clock is read before the delete) put the second pass off for good, the lock's
    /// worker held until Jobs:InvisibilityTimeout.
    /// </summary>
    internal static TimeSpan UntilOldEnough(DateTimeOffset outageBegan, DateTimeOffset now)
    {
        var left = outageBegan - (now - MinimumAge);
        return left > TimeSpan.Zero
            ? TimeSpan.FromTicks((left.Ticks + TimeSpan.TicksPerMillisecond - 1) / TimeSpan.TicksPerMillisecond * TimeSpan.TicksPerMillisecond)
            : TimeSpan.Zero;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} job state locks that the database outage left held (their state changes were cut off)")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the job state locks the database outage left held ({Reason}): their jobs wait until Jobs:InvisibilityTimeout")]
    private static partial void LogNotReleased(ILogger logger, string reason);
}
