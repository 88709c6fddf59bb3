using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Jobs;

// The queue's changes: a job's admission (parked or not) and its taking back, a repair's new Hangfire job, a parked job's unparking.
public sealed partial class JobLedger
{
    /// <summary>
    /// Stores a new job, unless its key already has <see cref="JobsOptions.MaxQueuedPerKey"/> jobs queued (parked or not):
    /// then stores nothing and returns false. The bound is a condition of the insert itself, on the key's queued jobs as
    /// triggers keep them counted in key_slots (migration KeyQueuedCounts): a point read of the key's row, however deep
    /// its queue. On the embedded database the writer applies inserts one at a time, so the bound holds exactly. On
    /// PostgreSQL this is the path of a key without a limit, which takes no lock (see <see cref="PostgreSqlInsertWithinQueueBoundSql"/>);
    /// a key with one is admitted under its lock, exactly (<see cref="AddWithinLimitAsync"/>).
    /// </summary>
    public async Task<bool> AddAsync(JobEntry job, CancellationToken cancellationToken)
    {
        var bound = MaxQueuedPerKey;
        if (bound == 0)
        {
            return await WriteAsync(InsertSql, cancellationToken, InsertValues(job)) == 1;
        }
        var insert = sqlite is not null ? InsertWithinQueueBoundSql : IsSqlServer ? SqlServerInsertWithinQueueBoundSql : PostgreSqlInsertWithinQueueBoundSql;
        return await WriteAsync(insert, cancellationToken, [.. InsertValues(job), bound]) == 1;
    }

    private object?[] InsertValues(JobEntry job) =>
        [job.Id, job.OwnerKeyId, job.Tool, job.Arguments, job.Status, job.Parked, job.TimeoutMs, job.Attempt, Timestamp(job.CreatedAt), job.EventsPending, job.IdempotencyKey];

    /// <summary>Jobs:MaxQueuedPerKey, 0 for no bound.</summary>
    private int MaxQueuedPerKey => options.Value.MaxQueuedPerKey;

    private const string InsertColumns =
        "INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, tokens_input, tokens_output, events_pending, idempotency_key)";

    private const string InsertSql =
        $$"""
        {{InsertColumns}}
        VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, 0, 0, {9}, {10})
        """;

    /// <summary>The embedded database's: the key's kept count of queued jobs, read by the insert.</summary>
    private static readonly string InsertWithinQueueBoundSql = InsertWithinQueueBound("SELECT queued FROM key_slots WHERE owner_key_id = {1}");

    /// <summary>SQL Server's: the key's row of the indexed view that counts queued jobs (its migration KeyQueuedCounts).</summary>
    private static readonly string SqlServerInsertWithinQueueBoundSql =
        InsertWithinQueueBound("SELECT queued FROM key_queued_jobs WITH (NOEXPAND) WHERE owner_key_id = {1}");

    /// <summary>
    /// PostgreSQL's, for a key without a limit, whose submits took no lock before the bound and take none now: the key's
    /// queued jobs are key_slots' count plus the changes not yet moved into it, and moving them needs the key's lock,
    /// which would queue the key's submits for about a commit each, across the cluster. So the insert reads the kept
    /// count alone while it is more than <see cref="UnmovedQueuedJobsAllowance"/> under the bound: nothing but
    /// KeySlotCompaction moves such a key's changes, every 5 s, so the changes not moved add that many only if the key
    /// submitted that many more jobs than started since its last pass (or longer: a pass moves 2,000 keys at most, and
    /// none while the database is away). Closer to the bound (always, for a bound that small), it adds the changes
    /// (ix_key_slot_changes_owner; one snapshot, so a move committed meanwhile is seen whole or not at all): the count is
    /// then exact as committed, and a key under the bound is not refused; submits on other connections at the same
    /// moment do not see each other, and may let as many more in. CASE evaluates its branches in order, so the changes
    /// are not read while the kept count decides.
    /// </summary>
    private static readonly string PostgreSqlInsertWithinQueueBoundSql = InsertWhere(
        $$"""
        CASE WHEN {{PostgreSqlKeptQueued}} + {{UnmovedQueuedJobsAllowance}} < {11} THEN TRUE
            ELSE {{PostgreSqlKeptQueued}} + COALESCE((SELECT SUM(queued) FROM key_slot_changes WHERE owner_key_id = {1}), 0) < {11} END
        """);

    /// <summary>
    /// How many queued jobs of a key without a limit the changes not yet moved are taken to hold at most: 10,000 in the
    /// 5 s between two moves is 2,000 submits a second from one key, about ten times what a PostgreSQL node here takes.
    /// </summary>
    private const int UnmovedQueuedJobsAllowance = 10_000;

    private const string PostgreSqlKeptQueued = "COALESCE((SELECT queued FROM key_slots WHERE owner_key_id = {1}), 0)";

    /// <summary>The insert of a new job if the key's queued jobs, as <paramref name="queued"/> reads them, are fewer than the bound.</summary>
    private static string InsertWithinQueueBound(string queued) => InsertWhere($"COALESCE(({queued}), 0) < {{11}}");

    /// <summary>The insert of a new job if <paramref name="condition"/> holds, the bound being {11}.</summary>
    private static string InsertWhere(string condition) =>
        $$"""
        {{InsertColumns}}
        SELECT {0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, 0, 0, {9}, {10}
        WHERE {{condition}}
        """;

    /// <summary>
    /// PostgreSQL: stores a new job parked when its key already holds <paramref name="limit"/> slots or has parked
    /// jobs (the oldest of which a free slot goes to), in one round trip under the key's lock (<see cref="Concurrency.KeySlotLock.AdmitOnPostgreSqlAsync"/>). Returns
    /// whether the job was parked; null when it was not stored, its key having <see cref="JobsOptions.MaxQueuedPerKey"/> jobs queued.
    /// </summary>
    public async Task<bool?> AddWithinLimitAsync(JobEntry job, int limit, CancellationToken cancellationToken)
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
                    new() { Value = job.EventsPending }, new() { Value = MaxQueuedPerKey is > 0 and var bound ? bound : int.MaxValue },
                    new() { Value = (object?)job.IdempotencyKey ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Varchar },
                },
            };
            await using var reader = await Concurrency.KeySlotLock.AdmitOnPostgreSqlAsync(batch, job.OwnerKeyId, insert, cancellationToken);
            return await reader.ReadAsync(cancellationToken) ? reader.GetBoolean(0) : null;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// PostgreSQL's admitting statement: the key's slot changes moved into key_slots, then the job stored, parked when
    /// its key holds $8 slots or has parked jobs, if the key's queued jobs, as moved, are fewer than $10.
    /// </summary>
    private static readonly string AddWithinLimitSql =
        $"""
        {Concurrency.KeySlotLock.PostgreSqlMoveSlotChanges("$2")}
        {InsertColumns}
        SELECT $1, $2, $3, $4, '{JobStatus.Queued}', ({Concurrency.KeySlotLock.PostgreSqlSlotsHeldAsMoved("$2", "$7", "$8")} >= $8 OR {Concurrency.KeySlotLock.PostgreSqlHasParked("$2")}), $5, 0, $6, 0, 0, $9, $11
        WHERE (SELECT queued FROM kept_slots) < $10
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
