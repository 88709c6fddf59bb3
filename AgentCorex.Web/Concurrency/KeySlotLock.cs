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
    /// <summary>
    /// PostgreSQL admits a job or a direct execution in one round trip instead (see <see cref="AdmitOnPostgreSqlAsync"/>,
    /// <see cref="Jobs.JobLedger.AddWithinLimitAsync"/>, <see cref="IDirectExecutions.TryAddWithinLimitAsync"/>).
    /// </summary>
    public bool OneStatementAdmission => storage.Provider == StorageProvider.PostgreSql;

    /// <summary>
    /// PostgreSQL's admission in one round trip: the key's advisory lock, then <paramref name="admit"/>, a statement
    /// that counts the key's slots (<see cref="PostgreSqlSlotsHeld"/>), as one implicit transaction, so the count
    /// sees everything committed before the lock was granted. The lock is held for that statement alone, not for
    /// round trips, so one key's admissions queue for microseconds. Returns the reader at the admitting
    /// statement's answer.
    /// </summary>
    public static async Task<Npgsql.NpgsqlDataReader> AdmitOnPostgreSqlAsync(
        Npgsql.NpgsqlBatch batch, string keyId, Npgsql.NpgsqlBatchCommand admit, CancellationToken cancellationToken)
    {
        batch.BatchCommands.Add(new Npgsql.NpgsqlBatchCommand("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        {
            Parameters = { new() { Value = DatabaseLocks.SlotClass }, new() { Value = keyId } },
        });
        batch.BatchCommands.Add(admit);
        var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken); // past the lock's empty answer
        return reader;
    }

    /// <summary>
    /// PostgreSQL: the slots a key holds, its jobs handed to Hangfire and its live direct executions, as an SQL
    /// expression; each part is counted up to <paramref name="limitParameter"/> only, which is all a comparison with
    /// the limit needs, so a key with a deep queue costs no more to admit than its limit allows.
    /// </summary>
    public static string PostgreSqlSlotsHeld(string keyParameter, string nowParameter, string limitParameter) =>
        $"""
        ((SELECT count(*) FROM (SELECT 1 FROM jobs WHERE owner_key_id = {keyParameter} AND NOT parked
                AND status IN ('{Jobs.JobStatus.Queued}', '{Jobs.JobStatus.Running}') LIMIT {limitParameter}) held)
            + (SELECT count(*) FROM (SELECT 1 FROM direct_executions WHERE key_id = {keyParameter} AND expires_at > {nowParameter} LIMIT {limitParameter}) live))
        """;

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
