using System.Data;
using System.Data.Common;
using System.Globalization;
using AgentCorex.Web.Storage;
using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The ledger's state changes. Each is one conditional UPDATE, so when a cancel races a start, or a forced
/// cancel races the end of a run, exactly one of them takes effect. The hot ones (a job's insert, start and
/// finish) are plain SQL, and on the embedded database go through <see cref="SqliteWriter"/>, in group commits.
/// </summary>
public sealed class JobLedger(AgentCorexDb db, WriteGate writes, TimeProvider time, SqliteWriter? sqlite = null, SqliteReadPool? reads = null)
{
    /// <summary>
    /// Every transition finds its row by its key and only then checks its status, in a form no index can serve
    /// (status is never null). Written <c>status = ...</c>, PostgreSQL's cached plan, made while its statistics said
    /// few jobs were queued, scanned ix_jobs_status_created for every queued job and filtered on the id: about 1 ms
    /// per start with a thousand jobs queued (docs/benchmarks.md).
    /// </summary>
    private const string StatusOfTheRowIs = "COALESCE(status, '') = ";

    private const string InsertSql =
        """
        INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, tokens_input, tokens_output, events_pending)
        VALUES ({0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, 0, 0, {9})
        """;

    private const string StartSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Running}}', hangfire_id = {0}, attempt = {1}, started_at = {2}, events_pending = events_pending | {3}
        WHERE job_id = {4} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}'
            AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.key_id = jobs.owner_key_id AND k.revoked_at IS NOT NULL)
        """;

    /// <summary>The start in one statement: the next attempt, and the started row back.</summary>
    private const string StartQueuedSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Running}}', hangfire_id = {0}, attempt = attempt + 1, started_at = {1}, events_pending = events_pending | {2}
        WHERE job_id = {3} AND {{StatusOfTheRowIs}}'{{JobStatus.Queued}}'
            AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.key_id = jobs.owner_key_id AND k.revoked_at IS NOT NULL)
        RETURNING {{JobColumns}}
        """;

    private const string FinishSql =
        $$"""
        UPDATE jobs SET status = {0}, completed_at = {1}, execution_time_ms = {2}, result = {3}, error_code = {4}, error_message = {5},
            error_details = {6}, tokens_input = {7}, tokens_output = {8}, events_pending = events_pending | {9}
        WHERE job_id = {10} AND {{StatusOfTheRowIs}}'{{JobStatus.Running}}' AND attempt = {11}
        """;

    private static readonly string AddWithinLimitSql =
        $"""
        {Concurrency.KeySlotLock.PostgreSqlMoveSlotChanges("$2")}
        INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, tokens_input, tokens_output, events_pending)
        SELECT $1, $2, $3, $4, '{JobStatus.Queued}', {Concurrency.KeySlotLock.PostgreSqlSlotsHeldAsMoved("$2", "$7", "$8")} >= $8, $5, 0, $6, 0, 0, $9
        RETURNING parked
        """;

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    /// <summary>
    /// True on the embedded database: its writes are applied one at a time in the order they were handed over
    /// (<see cref="SqliteWriter"/>), so a write handed over first is applied first, whether or not its caller waits.
    /// </summary>
    public bool AppliesWritesInOrder => sqlite is not null;

    /// <summary>SQL Server's context is a type of its own (StorageExtensions); EF's IsSqlServer() reads an assembly's name on every call.</summary>
    private bool IsSqlServer => db is SqlServerAgentCorexDb;

    /// <summary>
    /// A timestamp for the plain-SQL statements. SqlClient would send a bare DateTime as the old datetime type
    /// (3 ms steps), rounding it against the datetime2 column; Npgsql and SQLite map a UTC DateTime exactly.
    /// </summary>
    private object Timestamp(DateTime utc) =>
        IsSqlServer ? new SqlParameter { SqlDbType = SqlDbType.DateTime2, Value = utc } : utc;

    public Task<JobEntry?> FindAsync(string jobId, CancellationToken cancellationToken) =>
        reads is not null
            ? Task.FromResult(reads.QueryFirst(FindSql, ReadJob, jobId))
            : db.Jobs.AsNoTracking().SingleOrDefaultAsync(j => j.Id == jobId, cancellationToken);

    /// <summary>A job of another key is reported as not existing: its existence is not the caller's to know.</summary>
    public async Task<JobEntry> FindOwnAsync(string jobId, Auth.ApiKeyIdentity caller, CancellationToken cancellationToken)
    {
        var job = await FindAsync(jobId, cancellationToken);
        return job is not null && (caller.IsAdmin || job.OwnerKeyId == caller.KeyId) ? job : throw JobErrors.NotFound(jobId);
    }

    public async Task AddAsync(JobEntry job, CancellationToken cancellationToken)
    {
        await WriteAsync(InsertSql, cancellationToken,
            job.Id, job.OwnerKeyId, job.Tool, job.Arguments, job.Status, job.Parked, job.TimeoutMs, job.Attempt, Timestamp(job.CreatedAt), job.EventsPending);
    }

    /// <summary>
    /// Plain SQL on the hot path: EF's change tracking and SaveChanges transaction cost more than the statement.
    /// The embedded database's writer takes its turn at the <see cref="WriteGate"/> itself.
    /// </summary>
    private async Task<int> WriteAsync(string template, CancellationToken cancellationToken, params object?[] values)
    {
        if (sqlite is not null)
        {
            return await sqlite.ExecuteAsync(template, values, cancellationToken);
        }
        using var _ = await writes.EnterAsync(cancellationToken);
        return await db.Database.ExecuteSqlRawAsync(template, values!, cancellationToken);
    }

    /// <summary>
    /// PostgreSQL: stores a new job parked when its key already holds <paramref name="limit"/> slots, in one
    /// round trip under the key's lock (<see cref="Concurrency.KeySlotLock.AdmitOnPostgreSqlAsync"/>). Returns
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

    /// <summary>Takes back a job whose hand-over to Hangfire failed: the same way as every other write of the ledger.</summary>
    public async Task RemoveAsync(string jobId, CancellationToken cancellationToken) =>
        await WriteAsync("DELETE FROM jobs WHERE job_id = {0}", cancellationToken, jobId);

    /// <summary>
    /// queued → running, for the given attempt; false when the job was no longer queued, or its key has been
    /// revoked (a revoked key's queued jobs never start).
    /// </summary>
    /// <param name="raises">
    /// Here and below: the bits of the events to mark pending with the change (see <see cref="JobEntry.EventsPending"/>),
    /// 0 when no webhook wants them.
    /// </param>
    public async Task<bool> TryStartAsync(string jobId, string hangfireId, int attempt, DateTime startedAt, int raises, CancellationToken cancellationToken)
    {
        return await WriteAsync(StartSql, cancellationToken, hangfireId, attempt, Timestamp(startedAt), raises, jobId) == 1;
    }

    /// <summary>
    /// queued → running as the next attempt, in one statement that returns the started job (what a run needs of
    /// it); null when the job was not queued or its key has been revoked. SQL Server always answers null: its
    /// callers then read the job and start it with <see cref="TryStartAsync"/>.
    /// </summary>
    public async Task<JobEntry?> TryStartQueuedAsync(string jobId, string hangfireId, int raises, CancellationToken cancellationToken)
    {
        if (IsSqlServer)
        {
            return null;
        }
        object?[] values = [hangfireId, Timestamp(Now), raises, jobId];
        return sqlite is not null
            ? await sqlite.QueryFirstAsync(StartQueuedSql, ReadJob, values, cancellationToken)
            : await QueryFirstAsync(StartQueuedSql, ReadJob, values, cancellationToken);
    }

    /// <summary>A job's whole row, in the order <see cref="ReadJob"/> reads it.</summary>
    private const string JobColumns =
        """
        job_id, hangfire_id, owner_key_id, tool, arguments, status, parked, timeout_ms, attempt, created_at, started_at,
            completed_at, execution_time_ms, result, error_code, error_message, error_details, tokens_input, tokens_output, events_pending
        """;

    private const string FindSql = $"SELECT {JobColumns} FROM jobs WHERE job_id = {{0}}";

    /// <summary>A row of <see cref="JobColumns"/>, as EF Core would read it.</summary>
    private static JobEntry ReadJob(DbDataReader row) => new()
    {
        Id = row.GetString(0),
        HangfireId = row.IsDBNull(1) ? null : row.GetString(1),
        OwnerKeyId = row.GetString(2),
        Tool = row.GetString(3),
        Arguments = row.GetString(4),
        Status = row.GetString(5),
        Parked = row.GetBoolean(6),
        TimeoutMs = row.GetInt32(7),
        Attempt = row.GetInt32(8),
        CreatedAt = row.GetDateTime(9),
        StartedAt = row.IsDBNull(10) ? null : row.GetDateTime(10),
        CompletedAt = row.IsDBNull(11) ? null : row.GetDateTime(11),
        ExecutionTimeMs = row.IsDBNull(12) ? null : row.GetInt64(12),
        Result = row.IsDBNull(13) ? null : row.GetString(13),
        ErrorCode = row.IsDBNull(14) ? null : row.GetString(14),
        ErrorMessage = row.IsDBNull(15) ? null : row.GetString(15),
        ErrorDetails = row.IsDBNull(16) ? null : row.GetString(16),
        TokensInput = row.GetInt64(17),
        TokensOutput = row.GetInt64(18),
        EventsPending = row.GetInt32(19),
    };

    /// <summary>Plain SQL that returns a row, on the context's own connection (PostgreSQL: prepared automatically, see StorageExtensions).</summary>
    private async Task<T?> QueryFirstAsync<T>(string template, Func<DbDataReader, T> read, object?[] values, CancellationToken cancellationToken) =>
        await QueryAsync(template, read, values, 1, cancellationToken) is [var first] ? first : default;

    /// <summary>Up to <paramref name="max"/> rows of plain SQL, on the context's connection and in its transaction if it has one.</summary>
    private async Task<List<T>> QueryAsync<T>(string template, Func<DbDataReader, T> read, object?[] values, int max, CancellationToken cancellationToken)
    {
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = connection.CreateCommand();
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            command.CommandText = string.Format(CultureInfo.InvariantCulture, template, [.. values.Select((_, i) => "@p" + i.ToString(CultureInfo.InvariantCulture))]);
            for (var i = 0; i < values.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = "@p" + i.ToString(CultureInfo.InvariantCulture);
                parameter.Value = values[i] ?? DBNull.Value;
                command.Parameters.Add(parameter);
            }
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            List<T> rows = [];
            while (rows.Count < max && await reader.ReadAsync(cancellationToken))
            {
                rows.Add(read(reader));
            }
            return rows;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

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
            ? await sqlite.QueryAllAsync(UnparkOldestSql, ReadJob, [keyId, count], cancellationToken)
            : await QueryAsync(UnparkOldestSql, ReadJob, [keyId, count], count, cancellationToken);
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
        RETURNING {{JobColumns}}
        """;

    /// <summary>
    /// running (this attempt) → a final state, ended at <paramref name="endedAt"/> (not when the write is taken: an
    /// end kept through a database outage still says when the tool ended); false when something else ended it first
    /// (a forced cancel).
    /// </summary>
    public async Task<bool> TryFinishAsync(string jobId, int attempt, JobEnding ending, DateTime endedAt, int raises, CancellationToken cancellationToken)
    {
        return await WriteAsync(FinishSql, cancellationToken,
            ending.Status, Timestamp(endedAt), ending.ExecutionTimeMs, ending.Result, ending.ErrorCode, ending.ErrorMessage,
            ending.ErrorDetails, ending.TokensInput, ending.TokensOutput, raises, jobId, attempt) == 1;
    }

    /// <summary>
    /// Ends a job that is in <paramref name="from"/> as canceled by <paramref name="canceler"/>, which its message
    /// keeps (<see cref="JobCanceler.Reason"/>; the API does not show a canceled job's message); false when it was not.
    /// </summary>
    public async Task<bool> TryCancelAsync(string jobId, string from, JobCanceler canceler, int raises, CancellationToken cancellationToken) =>
        await WriteAsync(CancelSql, cancellationToken, Timestamp(Now), canceler.Reason(from), raises, jobId, from) == 1;

    /// <summary>
    /// running (this attempt) → canceled: a run's own cancel. A newer attempt (another worker's, which took the job over
    /// while this run's node stalled) is not this run's to cancel; false then too.
    /// </summary>
    public async Task<bool> TryCancelAsync(string jobId, int attempt, JobCanceler canceler, int raises, CancellationToken cancellationToken) =>
        await WriteAsync(CancelAttemptSql, cancellationToken, Timestamp(Now), canceler.Reason(JobStatus.Running), raises, jobId, attempt) == 1;

    private const string CancelSetSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Canceled}}', completed_at = {0}, error_message = {1}, events_pending = events_pending | {2}
        WHERE job_id = {3} AND {{StatusOfTheRowIs}}
        """;

    private const string CancelSql = CancelSetSql + "{4}";

    private const string CancelAttemptSql = $"{CancelSetSql}'{JobStatus.Running}' AND attempt = {{4}}";

    /// <summary>
    /// A run that was cut off (its server stopped or died): a tool safe to retry goes back to the queue,
    /// any other ends failed with SERVER_RESTARTED (raising <paramref name="raisesWhenFailed"/>). Only a job still
    /// running in that attempt is touched.
    /// </summary>
    public async Task<bool> TryInterruptAsync(string jobId, int attempt, bool requeue, int raisesWhenFailed, CancellationToken cancellationToken) =>
        await (requeue
            ? WriteAsync(RequeueInterruptedSql, cancellationToken, jobId, attempt)
            : WriteAsync(FailInterruptedSql, cancellationToken, Timestamp(Now), JobErrors.ServerRestarted,
                "The server running this job stopped before it finished, and its tool is not safe to run twice", raisesWhenFailed, jobId, attempt)) == 1;

    private const string RequeueInterruptedSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Queued}}', started_at = NULL
        WHERE job_id = {0} AND {{StatusOfTheRowIs}}'{{JobStatus.Running}}' AND attempt = {1}
        """;

    private const string FailInterruptedSql =
        $$"""
        UPDATE jobs SET status = '{{JobStatus.Failed}}', completed_at = {0}, error_code = {1}, error_message = {2}, events_pending = events_pending | {3}
        WHERE job_id = {4} AND {{StatusOfTheRowIs}}'{{JobStatus.Running}}' AND attempt = {5}
        """;

    /// <summary>
    /// 1-based: the queued jobs that will run before this one, plus one. Other keys' parked jobs do not run
    /// before it: they wait for their own keys' slots.
    /// </summary>
    public async Task<int> PositionInQueueAsync(JobEntry job, CancellationToken cancellationToken) =>
        1 + (reads is not null
            ? reads.QueryFirst(JobsAheadSql, static row => row.GetInt32(0), job.OwnerKeyId, job.CreatedAt, job.Id)
            : await JobsAheadAsync(job, cancellationToken));

    /// <summary>
    /// What <see cref="JobsAheadAsync"/> counts, as SQL for the embedded database's read pool. Written with
    /// <c>created_at &lt;= {1}</c> as well, SQLite's plan bounds its search of ix_jobs_status_created by it
    /// (status=? AND created_at&lt;?, against status=? for the OR alone): 204-208 µs against 321 µs at position 1,000,
    /// measured on a copy of the bench's database.
    /// </summary>
    private const string JobsAheadSql =
        $$"""
        SELECT COUNT(*) FROM jobs
        WHERE status = '{{JobStatus.Queued}}' AND created_at <= {1} AND (created_at < {1} OR job_id < {2})
            AND (NOT parked OR owner_key_id = {0})
        """;

    /// <summary>The queued jobs that run first: older ones, other keys' parked jobs left out (they wait for their own key).</summary>
    private Task<int> JobsAheadAsync(JobEntry job, CancellationToken cancellationToken) =>
        db.Jobs.CountAsync(
            j => j.Status == JobStatus.Queued
                && (!j.Parked || j.OwnerKeyId == job.OwnerKeyId)
                && (j.CreatedAt < job.CreatedAt || (j.CreatedAt == job.CreatedAt && string.Compare(j.Id, job.Id) < 0)),
            cancellationToken);
}

/// <summary>How a run ended, as the ledger stores it.</summary>
public sealed record JobEnding(
    string Status,
    long ExecutionTimeMs,
    string? Result = null,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    string? ErrorDetails = null,
    long TokensInput = 0,
    long TokensOutput = 0)
{
    /// <summary>The end on the run's copy of its job, as <see cref="JobLedger.TryFinishAsync"/> stored it in the row.</summary>
    public void ApplyTo(JobEntry job, DateTime endedAt)
    {
        job.Status = Status;
        job.CompletedAt = endedAt;
        job.ExecutionTimeMs = ExecutionTimeMs;
        job.Result = Result;
        job.ErrorCode = ErrorCode;
        job.ErrorMessage = ErrorMessage;
        job.ErrorDetails = ErrorDetails;
        job.TokensInput = TokensInput;
        job.TokensOutput = TokensOutput;
    }
}
