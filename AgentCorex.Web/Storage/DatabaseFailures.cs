using System.Data.Common;
using Microsoft.Data.Sqlite;
using static SQLitePCL.raw;

namespace AgentCorex.Web.Storage;

/// <summary>
/// Tells a database that cannot be reached (stopped, restarting, not answering, out of connections) from a fault of
/// the request or of the code: the provider marks the former transient, whether it reaches the app bare or wrapped
/// by EF Core's execution strategy or by Hangfire's client. The embedded database's file counts as unavailable when
/// it cannot take a write or be opened (a full disk, an I/O error, a file or folder made read-only): the request is
/// not at fault, and the same request goes through once the operator has made room.
/// </summary>
public static class DatabaseFailures
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(5);

    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException { IsTransient: true } or SqliteException { SqliteErrorCode: SQLITE_FULL or SQLITE_IOERR or SQLITE_READONLY or SQLITE_CANTOPEN })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Runs <paramref name="write"/> again while the database is unavailable, pausing 100 ms, then twice as long each
    /// time up to 5 s, until it answers. A failure is thrown once <paramref name="patience"/> would have passed by the
    /// next try, or when <paramref name="giveUp"/> has fired as the write fails; <paramref name="giveUp"/> firing during
    /// a pause ends it with an <see cref="OperationCanceledException"/> instead. The write takes its own token: a write
    /// under way is not cut short by <paramref name="giveUp"/>, only the waiting between writes. <paramref name="waiting"/>
    /// hears of the first failure only, so a long outage logs once.
    /// </summary>
    public static async Task<T> RetryWhileUnavailableAsync<T>(
        Func<Task<T>> write, TimeSpan patience, TimeProvider time, Action<Exception> waiting, CancellationToken giveUp)
    {
        var since = time.GetTimestamp();
        var pause = FirstPause;
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await write();
            }
            catch (Exception e) when (IsUnavailable(e) && !giveUp.IsCancellationRequested && time.GetElapsedTime(since) + pause < patience)
            {
                if (tries == 1)
                {
                    waiting(e);
                }
            }
            await Task.Delay(pause, time, giveUp);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LongestPause.Ticks));
        }
    }
}
