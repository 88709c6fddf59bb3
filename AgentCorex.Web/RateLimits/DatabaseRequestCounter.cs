using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// Counts in the shared database, so N nodes never multiply a key's allowance: one atomic upsert per request
/// that returns the new count, run once: a request is never counted twice. Old minutes are deleted as a new minute
/// begins. On PostgreSQL the counts commit asynchronously (see <see cref="AsyncCommitDataSource"/>).
/// </summary>
internal sealed class DatabaseRequestCounter(IServiceScopeFactory scopes, AsyncCommitDataSource? asyncCommits = null) : IRequestCounter
{
    private const string PostgreSqlCount =
        """
        INSERT INTO rate_limit_windows (key_id, bucket, minute, requests) VALUES ($1, $2, $3, 1)
        ON CONFLICT (key_id, bucket, minute) DO UPDATE SET requests = rate_limit_windows.requests + 1
        RETURNING requests
        """;

    private long lastSweptMinute;

    public async ValueTask<int> CountAsync(string keyId, string bucket, long minute, CancellationToken cancellationToken)
    {
        var sweep = MinuteTurns.FirstOf(ref lastSweptMinute, minute); // sweeps the old minutes
        if (asyncCommits is not null)
        {
            // Never run again on a lost connection: the count may have committed before its answer was lost, and a
            // second run would count the request twice. A restart's dead connections are cleared from the pool before
            // the database is back (PostgreSqlRestartWatch), so a count meets one only when the database goes away under it.
            return await CountOnPostgreSqlAsync(asyncCommits.Source, keyId, bucket, minute, sweep, cancellationToken);
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        if (sweep)
        {
            await db.RateLimitWindows.Where(w => w.Minute < minute - 1).ExecuteDeleteAsync(cancellationToken);
        }
        // SQL Server: PostgreSQL counts on its own pool, above.
        var counted = db.Database.SqlQuery<int>(
            $"""
            MERGE rate_limit_windows WITH (HOLDLOCK) AS w
            USING (SELECT {keyId} AS key_id, {bucket} AS bucket, {minute} AS minute) AS r
            ON w.key_id = r.key_id AND w.bucket = r.bucket AND w.minute = r.minute
            WHEN MATCHED THEN UPDATE SET requests = w.requests + 1
            WHEN NOT MATCHED THEN INSERT (key_id, bucket, minute, requests) VALUES (r.key_id, r.bucket, r.minute, 1)
            OUTPUT inserted.requests AS [Value];
            """);
        return (await counted.ToListAsync(cancellationToken)).Single();
    }

    private static async Task<int> CountOnPostgreSqlAsync(
        Npgsql.NpgsqlDataSource source, string keyId, string bucket, long minute, bool sweep, CancellationToken cancellationToken)
    {
        if (sweep)
        {
            await using var delete = source.CreateCommand("DELETE FROM rate_limit_windows WHERE minute < $1");
            delete.Parameters.Add(new() { Value = minute - 1 });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var count = source.CreateCommand(PostgreSqlCount);
        count.Parameters.Add(new() { Value = keyId });
        count.Parameters.Add(new() { Value = bucket });
        count.Parameters.Add(new() { Value = minute });
        return (int)(await count.ExecuteScalarAsync(cancellationToken))!;
    }
}
