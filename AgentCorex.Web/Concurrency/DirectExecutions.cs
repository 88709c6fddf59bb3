using System.Collections.Concurrent;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Concurrency;

/// <summary>The direct executions holding slots: counted in memory on the embedded default (one node), in the database on a cluster.</summary>
public interface IDirectExecutions
{
    // The database context is asked for only where it is used: the in-memory count needs none.

    Task<int> CountAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken);

    Task AddAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken);

    /// <summary>
    /// PostgreSQL (see <see cref="KeySlotLock.OneStatementAdmission"/>): adds it when its key holds fewer than
    /// <paramref name="limit"/> slots, in one round trip under the key's lock; false when the key is at its limit.
    /// </summary>
    Task<bool> TryAddWithinLimitAsync(DirectExecution execution, int limit, CancellationToken cancellationToken);

    /// <returns>Whether its key has parked jobs, where the removal could tell in the same round trip; else null.</returns>
    Task<bool?> RemoveAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken);

    /// <summary>Forgets what expired (a node that died mid-execution); returns the keys whose slots it freed.</summary>
    Task<IReadOnlyList<string>> PruneAsync(AgentCorexDb db, DateTime now, CancellationToken cancellationToken);
}

internal sealed class InMemoryDirectExecutions : IDirectExecutions
{
    private readonly ConcurrentDictionary<string, int> running = new(StringComparer.Ordinal);

    public Task<int> CountAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken) =>
        Task.FromResult(running.GetValueOrDefault(keyId));

    public Task AddAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken)
    {
        running.AddOrUpdate(execution.KeyId, 1, (_, count) => count + 1);
        return Task.CompletedTask;
    }

    public Task<bool> TryAddWithinLimitAsync(DirectExecution execution, int limit, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("The embedded database admits under KeySlotLock's in-process lock.");

    public Task<bool?> RemoveAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken)
    {
        running.AddOrUpdate(execution.KeyId, 0, (_, count) => Math.Max(0, count - 1));
        running.TryRemove(new KeyValuePair<string, int>(execution.KeyId, 0));
        return Task.FromResult<bool?>(null);
    }

    /// <summary>Nothing expires: this process ends its executions, and forgets them all when it dies.</summary>
    public Task<IReadOnlyList<string>> PruneAsync(AgentCorexDb db, DateTime now, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);
}

/// <summary>On PostgreSQL its rows are added and removed with asynchronous commits (see <see cref="AsyncCommitDataSource"/>).</summary>
internal sealed class DatabaseDirectExecutions(WriteGate writes, TimeProvider time, AsyncCommitDataSource? asyncCommits = null) : IDirectExecutions
{
    private static readonly string AddWithinLimitSql =
        $"""
        INSERT INTO direct_executions (execution_id, key_id, expires_at)
        SELECT $1, $2, $3 WHERE {KeySlotLock.PostgreSqlSlotsHeld("$2", "$4", "$5")} < $5
        RETURNING true
        """;

    public Task<int> CountAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return db().DirectExecutions.CountAsync(e => e.KeyId == keyId && e.ExpiresAt > now, cancellationToken);
    }

    public async Task AddAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken)
    {
        using var _ = await writes.EnterAsync(cancellationToken);
        await db().Database.ExecuteSqlAsync(
            $"INSERT INTO direct_executions (execution_id, key_id, expires_at) VALUES ({execution.Id}, {execution.KeyId}, {execution.ExpiresAt})",
            cancellationToken);
    }

    public async Task<bool> TryAddWithinLimitAsync(DirectExecution execution, int limit, CancellationToken cancellationToken)
    {
        var source = (asyncCommits ?? throw new InvalidOperationException("Only PostgreSQL admits in one round trip.")).Source;
        await using var batch = source.CreateBatch();
        var insert = new Npgsql.NpgsqlBatchCommand(AddWithinLimitSql)
        {
            Parameters =
            {
                new() { Value = execution.Id }, new() { Value = execution.KeyId }, new() { Value = execution.ExpiresAt },
                new() { Value = time.GetUtcNow().UtcDateTime }, new() { Value = limit },
            },
        };
        await using var reader = await KeySlotLock.AdmitOnPostgreSqlAsync(batch, execution.KeyId, insert, cancellationToken);
        return await reader.ReadAsync(cancellationToken);
    }

    public async Task<bool?> RemoveAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken)
    {
        if (asyncCommits is not null)
        {
            await using var delete = asyncCommits.Source.CreateCommand(
                $"DELETE FROM direct_executions WHERE execution_id = $1 RETURNING {KeySlotLock.PostgreSqlHasParked("$2")}");
            delete.Parameters.Add(new() { Value = execution.Id });
            delete.Parameters.Add(new() { Value = execution.KeyId });
            return await delete.ExecuteScalarAsync(cancellationToken) as bool?; // null when a prune took it first
        }
        using var _ = await writes.EnterAsync(cancellationToken);
        await db().DirectExecutions.Where(e => e.Id == execution.Id).ExecuteDeleteAsync(cancellationToken);
        return null;
    }

    public async Task<IReadOnlyList<string>> PruneAsync(AgentCorexDb db, DateTime now, CancellationToken cancellationToken)
    {
        var keys = await db.DirectExecutions.Where(e => e.ExpiresAt <= now).Select(e => e.KeyId).Distinct().OrderBy(key => key).Take(500).ToListAsync(cancellationToken);
        using var _ = await writes.EnterAsync(cancellationToken);
        await db.DirectExecutions.Where(e => e.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        return keys;
    }
}
