using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

// The queue's changes: a job's admission (parked or not) and its taking back, a repair's new Hangfire job, a parked job's unparking.
public sealed partial class JobLedger
{
    public async Task AddAsync(JobEntry job, CancellationToken cancellationToken)
    {
        await WriteAsync(InsertSql, cancellationToken,
            job.Id, job.OwnerKeyId, job.Tool, job.Arguments, job.Status, job.Parked, job.TimeoutMs, job.Attempt, Timestamp(job.CreatedAt), job.EventsPending);
    }

    private const string InsertSql =
        """
        INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, tokens_input, tokens_output, events_pending)
        VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, 0, 0, {9})
        """;

    /// <summary>
    /// PostgreSQL: stores a new job parked when its key already holds <paramref name="limit"/> slots or has parked
    /// jobs (the oldest of which a free slot goes to), in one round trip under the key's lock (<see cref="Concurrency.KeySlotLock.AdmitOnPostgreSqlAsync"/>). Returns
    /// whether the job was parked.
    /// </summary>
    public async Task<bool> AddWithinLimitAsync(JobEntry job, int limit, CancellationToken cancellationToken)
    {
        var connection = (Npgsql.NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var batch = new Npgsql.NpgsqlBatch(connection);
            var insert = new Npgsql.NpgsqlBatchCommand(AddWithinLimitSql)
            {
                Parameters =
                {
                    new() { Value = job.Id }, new() { Value = job.OwnerKeyId }, new() { Value = job.Tool }, new() { Value = job.Arguments },
                    new() { Value = job.TimeoutMs }, new() { Value = job.CreatedAt }, new() { Value = Now }, new() { Value = limit },
                    new() { Value = job.EventsPending },
                },
            };
            await using var reader = await Concurrency.KeySlotLock.AdmitOnPostgreSqlAsync(batch, job.OwnerKeyId, insert, cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return reader.GetBoolean(0);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static readonly string AddWithinLimitSql =
        $"""
        {Concurrency.KeySlotLock.PostgreSqlMoveSlotChanges("$2")}
        INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, tokens_input, tokens_output, events_pending)
        SELECT $1, $2, $3, $4, '{JobStatus.Queued}', ({Concurrency.KeySlotLock.PostgreSqlSlotsHeldAsMoved("$2", "$7", "$8")} >= $8 OR {Concurrency.KeySlotLock.PostgreSqlHasParked("$2")}), $5, 0, $6, 0, 0, $9
        RETURNING parked
        """;

    /// <summary>
    /// Takes back a job whose hand-over to Hangfire failed: the same way as every other write of the ledger. Only a queued
    /// one: a create whose answer was lost may have made a Hangfire job that started it, even ended it, since. Returns
    /// whether it was removed.
    /// </summary>
    public async Task<bool> RemoveAsync(string jobId, CancellationToken cancellationToken) =>
        await WriteAsync(RemoveSql, cancellationToken, jobId) == 1;

    private const string RemoveSql = $$"""DELETE FROM jobs WHERE job_id = {0} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}'""";

    /// <summary>
    /// Records the Hangfire job the repair pass made for a queued job, unless the job moved on meanwhile or
    /// another node repaired it first (its Hangfire id is no longer <paramref name="previous"/>).
    /// </summary>
    public async Task<bool> TryRecordRequeueAsync(string jobId, string? previous, string hangfireId, CancellationToken cancellationToken) =>
        await (previous is null
            ? WriteAsync(RecordFirstRequeueSql, cancellationToken, hangfireId, jobId, false)
            : WriteAsync(RecordRequeueSql, cancellationToken, hangfireId, jobId, false, previous)) == 1;

    private const string RecordRequeueSql =
        $$"""
        UPDATE jobs SET hangfire_id = {0}
        WHERE job_id = {1} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}' AND parked = {2} AND hangfire_id = {3}
        """;

    /// <summary>The same for a job with no Hangfire id recorded yet (a queued job's is recorded when a worker starts it).</summary>
    private const string RecordFirstRequeueSql =
        $$"""
        UPDATE jobs SET hangfire_id = {0}
        WHERE job_id = {1} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}' AND parked = {2} AND hangfire_id IS NULL
        """;

    /// <summary>A parked job takes a freed slot of its key; false when it is no longer a parked queued job (canceled meanwhile).</summary>
    public async Task<bool> TryUnparkAsync(string jobId, CancellationToken cancellationToken) =>
        await WriteAsync(UnparkSql, cancellationToken, false, jobId, true) == 1;

    private const string UnparkSql =
        $$"""
        UPDATE jobs SET parked = {0}
        WHERE job_id = {1} AND parked = {2} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}'
        """;

    /// <summary>
    /// Up to <paramref name="count"/> of the key's oldest parked jobs take freed slots, in one statement (on the
    /// embedded database's writer), oldest first. Null on SQL Server: there the caller reads them and unparks each
    /// with <see cref="TryUnparkAsync"/>.
    /// </summary>
    public async Task<List<JobEntry>?> UnparkOldestAsync(string keyId, int count, CancellationToken cancellationToken)
    {
        if (IsSqlServer)
        {
            return null;
        }
        var unparked = sqlite is not null
            ? await sqlite.QueryAllAsync(UnparkOldestSql, JobRow.Read, [keyId, count], cancellationToken)
            : await QueryAsync(UnparkOldestSql, JobRow.Read, [keyId, count], count, cancellationToken);
        // RETURNING gives no order.
        unparked.Sort((a, b) => a.CreatedAt != b.CreatedAt ? a.CreatedAt.CompareTo(b.CreatedAt) : string.CompareOrdinal(a.Id, b.Id));
        return unparked;
    }

    private const string UnparkOldestSql =
        $$"""
        UPDATE jobs SET parked = FALSE
        WHERE job_id IN (
            SELECT job_id FROM jobs WHERE owner_key_id = {0} AND parked = TRUE AND status = '{{JobStatus.Queued}}'
            ORDER BY created_at, job_id LIMIT {1})
        RETURNING {{JobRow.Columns}}
        """;
}
