using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// One key's slots are counted and taken by one caller at a time, on every node: a stripe of this process's
/// locks, and on a server database a transaction-scoped lock that other nodes wait on (PostgreSQL's advisory
/// lock, SQL Server's application lock). The embedded database has only this process to wait for.
/// </summary>
public sealed class KeySlotLock(StorageConnection storage)
{

    /// <summary>PostgreSQL admits a job in one round trip instead (see <see cref="Jobs.JobLedger.AddWithinLimitAsync"/>).</summary>
    public bool OneStatementAdmission => storage.Provider == StorageProvider.PostgreSql;

    private readonly SemaphoreSlim[] stripes = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <param name="context">The scope's database context, asked for only on a server database (the lock's transaction is its).</param>
    public async Task<T> RunAsync<T>(Func<AgentCorexDb> context, string keyId, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        var stripe = stripes[(StringComparer.Ordinal.GetHashCode(keyId) & int.MaxValue) % stripes.Length];
        await stripe.WaitAsync(cancellationToken);
        try
        {
            if (storage.Provider == StorageProvider.Embedded)
            {
                return await work(cancellationToken);
            }
            var db = context();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (storage.Provider == StorageProvider.PostgreSql)
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({DatabaseLocks.SlotClass}, hashtext({keyId}))", cancellationToken);
            }
            else
            {
                var resource = DatabaseLocks.SqlServerSlotsPrefix + keyId;
                await db.Database.ExecuteSqlAsync(
                    $"EXEC sp_getapplock @Resource = {resource}, @LockMode = 'Exclusive', @LockOwner = 'Transaction'", cancellationToken);
            }
            var result = await work(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            stripe.Release();
        }
    }
}
