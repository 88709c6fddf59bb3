using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// One key's slots are counted and taken by one caller at a time, on every node: a stripe of this process's
/// locks, and on a server database a transaction-scoped lock that other nodes wait on (PostgreSQL's advisory
/// lock, SQL Server's application lock). The embedded database has only this process to wait for. A key's webhooks
/// are counted and registered under it too (a registration is rare, so the key's admissions hardly wait for it).
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
    /// sees everything committed before the lock was granted. The lock is held for that statement and its commit,
    /// not for round trips, so one key's admissions queue for about a commit each. Returns the reader at the
    /// admitting statement's answer.
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
    /// expression. Its jobs' are kept counted: key_slots plus the changes not yet moved into it (migration
    /// KeySlotCounts), read in one statement, so that a move committed meanwhile is seen whole or not at all. Its
    /// direct executions are counted up to <paramref name="limitParameter"/> only, which is all a comparison with
    /// the limit needs.
    /// </summary>
    public static string PostgreSqlSlotsHeld(string keyParameter, string nowParameter, string limitParameter) =>
        $"({PostgreSqlJobsHeld(keyParameter)} + {PostgreSqlDirectsHeld(keyParameter, nowParameter, limitParameter)})";

    /// <summary>PostgreSQL: the slots a key's jobs hold, key_slots and the changes not yet moved into it.</summary>
    public static string PostgreSqlJobsHeld(string keyParameter) =>
        $"""
        (COALESCE((SELECT held FROM key_slots WHERE owner_key_id = {keyParameter}), 0)
            + COALESCE((SELECT SUM(change) FROM key_slot_changes WHERE owner_key_id = {keyParameter}), 0))
        """;

    /// <summary>PostgreSQL: whether a key has parked jobs, as an SQL expression (an EXISTS on ix_jobs_owner_parked_status).</summary>
    public static string PostgreSqlHasParked(string keyParameter) =>
        $"EXISTS (SELECT 1 FROM jobs WHERE owner_key_id = {keyParameter} AND parked AND status = '{Jobs.JobStatus.Queued}')";

    /// <summary>
    /// PostgreSQL: as <see cref="PostgreSqlSlotsHeld"/>, for the admitting statement of a job, which holds the key's
    /// lock: the key's changes are moved into key_slots as they are counted, so that a key admitted often has only
    /// the changes since its last admission to read. The statement begins with <see cref="PostgreSqlMoveSlotChanges"/>.
    /// </summary>
    public static string PostgreSqlSlotsHeldAsMoved(string keyParameter, string nowParameter, string limitParameter) =>
        $"((SELECT held FROM kept_slots) + {PostgreSqlDirectsHeld(keyParameter, nowParameter, limitParameter)})";

    /// <summary>
    /// The WITH clause that moves a key's slot changes into key_slots and answers the counts as kept_slots (held, and
    /// queued: the key's queued jobs, parked or not, migration KeyQueuedCounts). Only under the key's lock:
    /// KeySlotCompaction moves only the changes of keys whose lock it takes, and a move elsewhere while this one
    /// deletes the same rows could wait on it in the opposite order.
    /// </summary>
    public static string PostgreSqlMoveSlotChanges(string keyParameter) =>
        $"""
        WITH moved_slots AS (DELETE FROM key_slot_changes WHERE owner_key_id = {keyParameter} RETURNING change, queued),
        kept_slots AS (
            INSERT INTO key_slots (owner_key_id, held, queued) SELECT {keyParameter}, COALESCE(SUM(change), 0), COALESCE(SUM(queued), 0) FROM moved_slots
            ON CONFLICT (owner_key_id) DO UPDATE SET held = key_slots.held + excluded.held, queued = key_slots.queued + excluded.queued
            RETURNING held, queued)
        """;

    private static string PostgreSqlDirectsHeld(string keyParameter, string nowParameter, string limitParameter) =>
        $"(SELECT count(*) FROM (SELECT 1 FROM direct_executions WHERE key_id = {keyParameter} AND expires_at > {nowParameter} LIMIT {limitParameter}) live)";

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
            // Not canceled once the work is done: a cancel landing in the commit's round trip could leave it committed
            // (jobs taken out of parking) while the caller, told it failed, never hands them to Hangfire.
            await transaction.CommitAsync(CancellationToken.None);
            return result;
        }
        finally
        {
            stripe.Release();
        }
    }
}
