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

    Task RemoveAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken);

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

    public Task RemoveAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken)
    {
        running.AddOrUpdate(execution.KeyId, 0, (_, count) => Math.Max(0, count - 1));
        running.TryRemove(new KeyValuePair<string, int>(execution.KeyId, 0));
        return Task.CompletedTask;
    }

    /// <summary>Nothing expires: this process ends its executions, and forgets them all when it dies.</summary>
    public Task<IReadOnlyList<string>> PruneAsync(AgentCorexDb db, DateTime now, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([]);
}

internal sealed class DatabaseDirectExecutions(WriteGate writes, TimeProvider time) : IDirectExecutions
{
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

    public async Task RemoveAsync(Func<AgentCorexDb> db, DirectExecution execution, CancellationToken cancellationToken)
    {
        using var _ = await writes.EnterAsync(cancellationToken);
        await db().DirectExecutions.Where(e => e.Id == execution.Id).ExecuteDeleteAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<string>> PruneAsync(AgentCorexDb db, DateTime now, CancellationToken cancellationToken)
    {
        var keys = await db.DirectExecutions.Where(e => e.ExpiresAt <= now).Select(e => e.KeyId).Distinct().OrderBy(key => key).Take(500).ToListAsync(cancellationToken);
        using var _ = await writes.EnterAsync(cancellationToken);
        await db.DirectExecutions.Where(e => e.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        return keys;
    }
}
