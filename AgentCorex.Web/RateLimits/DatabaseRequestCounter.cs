using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.RateLimits;

/// <summary>
/// Counts in the shared database, so N nodes never multiply a key's allowance: one atomic upsert per request
/// that returns the new count. Old minutes are deleted as a new minute begins.
/// </summary>
internal sealed class DatabaseRequestCounter(IServiceScopeFactory scopes) : IRequestCounter
{
    private long lastSweptMinute;

    public async ValueTask<int> CountAsync(string keyId, string bucket, long minute, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        if (Interlocked.Exchange(ref lastSweptMinute, minute) != minute)
        {
            await db.RateLimitWindows.Where(w => w.Minute < minute - 1).ExecuteDeleteAsync(cancellationToken);
        }
        var counted = db.Database.IsSqlServer()
            ? db.Database.SqlQuery<int>(
                $"""
                MERGE rate_limit_windows WITH (HOLDLOCK) AS w
                USING (SELECT {keyId} AS key_id, {bucket} AS bucket, {minute} AS minute) AS r
                ON w.key_id = r.key_id AND w.bucket = r.bucket AND w.minute = r.minute
                WHEN MATCHED THEN UPDATE SET requests = w.requests + 1
                WHEN NOT MATCHED THEN INSERT (key_id, bucket, minute, requests) VALUES (r.key_id, r.bucket, r.minute, 1)
                OUTPUT inserted.requests AS [Value];
                """)
            : db.Database.SqlQuery<int>(
                $"""
                INSERT INTO rate_limit_windows (key_id, bucket, minute, requests) VALUES ({keyId}, {bucket}, {minute}, 1)
                ON CONFLICT (key_id, bucket, minute) DO UPDATE SET requests = rate_limit_windows.requests + 1
                RETURNING requests AS "Value"
                """);
        return (await counted.ToListAsync(cancellationToken)).Single();
    }
}
