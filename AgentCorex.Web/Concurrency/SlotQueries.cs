using System.Collections.Concurrent;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Concurrency;

/// <summary>
/// The two questions asked of the ledger on every execution of a key that has a limit. Where one process
/// writes every job (the embedded default), it also remembers what it learnt and what it did, told under the
/// key's <see cref="KeySlotLock"/>, so that a key with no jobs or no parked jobs costs no query.
/// </summary>
public interface ISlotQueries
{
    /// <summary>True where the answers are remembered (told of every job stored); then the callers ask under the key's lock.</summary>
    bool Remembers { get; }

    /// <summary>
    /// The key's jobs holding slots (handed to Hangfire, not parked, queued or running), counted up to
    /// <paramref name="limit"/>: the count when it is below, else <paramref name="limit"/>. Counting further would
    /// only cost more: a key with a deep queue is read up to its limit.
    /// </summary>
    Task<int> HeldByJobsAsync(Func<AgentCorexDb> db, string keyId, int limit, CancellationToken cancellationToken);

    /// <summary>Whether the key's jobs hold at least <paramref name="count"/> slots; answered without a query where a remembered bound says no.</summary>
    Task<bool> HoldAtLeastAsync(Func<AgentCorexDb> db, string keyId, int count, CancellationToken cancellationToken);

    Task<bool> HasParkedAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken);

    /// <summary>Known without asking: the key has no parked job.</summary>
    bool SurelyNoneParked(string keyId);

    /// <summary>A job of the key is about to be stored parked, or handed to Hangfire (a new one, or an unparked one).</summary>
    void Stored(string keyId, bool parked);

    /// <summary>The key's parked jobs were all handed over.</summary>
    void NoneParked(string keyId);

    /// <summary>A job of the key was stored without a limit (not told of by <see cref="Stored"/>): a remembered bound no longer holds.</summary>
    void Unbounded(string keyId);

    /// <summary>
    /// Drops every key's remembered answers, at each pass of <see cref="ParkedJobsSweeper"/>: none is needed for a right
    /// answer (a key not remembered is asked), and kept they held every key that was ever admitted, revoked or gone quiet.
    /// A key still at work is asked again once (a count, or whether it parks any) and remembers again.
    /// </summary>
    void ForgetAll();
}

/// <summary>
/// On a server database, on the request's own context: on PostgreSQL the slots its triggers keep counted
/// (<see cref="KeySlotLock.PostgreSqlSlotsHeld"/>), on SQL Server the rows counted up to the limit.
/// </summary>
internal sealed class DatabaseSlotQueries(StorageConnection storage) : ISlotQueries
{
    /// <summary>Other nodes store jobs too: nothing can be remembered.</summary>
    public bool Remembers => false;

    private static readonly Func<AgentCorexDb, string, int, CancellationToken, Task<int>> HeldByJobs = EF.CompileAsyncQuery(
        (AgentCorexDb db, string keyId, int limit, CancellationToken _) =>
            db.Jobs.Where(j => j.OwnerKeyId == keyId && !j.Parked && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running)).Take(limit).Count());

    private static readonly string PostgreSqlHeldByJobs = $"SELECT LEAST({KeySlotLock.PostgreSqlJobsHeld("{0}")}, {{1}})::integer AS \"Value\"";

    private static readonly Func<AgentCorexDb, string, CancellationToken, Task<bool>> HasParked = EF.CompileAsyncQuery(
        (AgentCorexDb db, string keyId, CancellationToken _) =>
            db.Jobs.Any(j => j.OwnerKeyId == keyId && j.Parked && j.Status == JobStatus.Queued));

    public Task<int> HeldByJobsAsync(Func<AgentCorexDb> db, string keyId, int limit, CancellationToken cancellationToken) =>
        limit <= 0 ? Task.FromResult(0)
        : storage.Provider == StorageProvider.PostgreSql
            ? db().Database.SqlQueryRaw<int>(PostgreSqlHeldByJobs, keyId, limit).SingleAsync(cancellationToken)
            : HeldByJobs(db(), keyId, limit, cancellationToken);

    public async Task<bool> HoldAtLeastAsync(Func<AgentCorexDb> db, string keyId, int count, CancellationToken cancellationToken) =>
        count <= 0 || await HeldByJobsAsync(db, keyId, count, cancellationToken) >= count;

    public Task<bool> HasParkedAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken) => HasParked(db(), keyId, cancellationToken);

    public bool SurelyNoneParked(string keyId) => false;

    public void Stored(string keyId, bool parked)
    {
    }

    public void Unbounded(string keyId)
    {
    }

    public void NoneParked(string keyId)
    {
    }

    public void ForgetAll()
    {
    }
}

/// <summary>
/// On the embedded database. A key's slots held by its jobs are kept counted in key_slots by triggers on the jobs
/// table (migration KeySlotCounts), and read by the <see cref="SqliteWriter"/>, after every write queued before
/// the question: a job admitted under the key's lock is then counted even while its insert waits for its commit,
/// so the lock need not be held for that (<see cref="ExecutionSlots.AdmitAsync"/>). Whether a key has parked jobs
/// is asked of the <see cref="SqliteReadPool"/>'s prepared statements: through EF Core each question took about
/// 0.6 ms, a prepared SQLite statement answers in microseconds. A parked job's insert is committed before its
/// key's lock is let go, and in WAL mode each statement reads the latest commit of every other connection.
/// </summary>
/// <remarks>
/// This process stores every job, so what a count said stays true as a bound: the key's jobs hold no more slots
/// than it said plus the jobs told of by <see cref="Stored"/> since (a job ending only frees one). Admissions are
/// answered from that bound while it is under the limit, with no round trip to the writer, and asked again only
/// when it reaches it. A key whose parked jobs were all handed over is not asked about them again until one is parked.
/// </remarks>
internal sealed class SqliteSlotQueries(SqliteWriter writer, SqliteReadPool reads) : ISlotQueries
{
    private const string HeldByJobsSql = "SELECT MIN(COALESCE((SELECT held FROM key_slots WHERE owner_key_id = {0}), 0), {1})";

    private const string HasParkedSql = $"SELECT EXISTS (SELECT 1 FROM jobs WHERE owner_key_id = {{0}} AND parked = 1 AND status = '{JobStatus.Queued}')";

    private readonly ConcurrentDictionary<string, int> heldAtMost = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> parksNone = new(StringComparer.Ordinal);

    public bool Remembers => true;

    public async Task<int> HeldByJobsAsync(Func<AgentCorexDb> db, string keyId, int limit, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return 0;
        }
        var held = await writer.QueryFirstAsync(HeldByJobsSql, static row => row.GetInt32(0), [keyId, limit], cancellationToken);
        if (held < limit)
        {
            heldAtMost[keyId] = held; // the whole count
        }
        else
        {
            heldAtMost.TryRemove(keyId, out _); // cut at the limit: no bound
        }
        return held;
    }

    public async Task<bool> HoldAtLeastAsync(Func<AgentCorexDb> db, string keyId, int count, CancellationToken cancellationToken)
    {
        if (count <= 0)
        {
            return true;
        }
        if (heldAtMost.TryGetValue(keyId, out var bound) && bound < count)
        {
            return false;
        }
        return await HeldByJobsAsync(db, keyId, count, cancellationToken) >= count;
    }

    public Task<bool> HasParkedAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (parksNone.GetValueOrDefault(keyId))
        {
            return Task.FromResult(false);
        }
        var any = reads.QueryFirst(HasParkedSql, static row => row.GetBoolean(0), keyId);
        parksNone[keyId] = !any;
        return Task.FromResult(any);
    }

    public bool SurelyNoneParked(string keyId) => parksNone.GetValueOrDefault(keyId);

    public void Stored(string keyId, bool parked)
    {
        if (parked)
        {
            parksNone[keyId] = false;
        }
        else if (heldAtMost.TryGetValue(keyId, out var bound))
        {
            heldAtMost[keyId] = bound + 1; // told under the key's lock, as every change of its bound is
        }
    }

    public void NoneParked(string keyId) => parksNone[keyId] = true;

    public void Unbounded(string keyId) => heldAtMost.TryRemove(keyId, out _);

    /// <remarks>
    /// Without the keys' locks: a forgotten answer is only asked again, and an answer told under a key's lock as it is
    /// forgotten (a bound counted or raised, parked jobs handed over) was true when told, and stays a right one.
    /// </remarks>
    public void ForgetAll()
    {
        heldAtMost.Clear();
        parksNone.Clear();
    }

    /// <summary>The keys with an answer remembered, for tests.</summary>
    internal int Remembered => heldAtMost.Keys.Union(parksNone.Keys).Count();
}
