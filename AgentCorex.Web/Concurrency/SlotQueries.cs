using System.Collections.Concurrent;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.Data.Sqlite;
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

    /// <summary>The key's jobs holding slots: handed to Hangfire (not parked), queued or running.</summary>
    Task<int> HeldByJobsAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken);

    Task<bool> HasParkedAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken);

    /// <summary>Known without asking: the key has no parked job.</summary>
    bool SurelyNoneParked(string keyId);

    /// <summary>A job of the key is about to be stored parked, or handed to Hangfire (a new one, or an unparked one).</summary>
    void Stored(string keyId, bool parked);

    /// <summary>The key's parked jobs were all handed over.</summary>
    void NoneParked(string keyId);
}

/// <summary>On a server database: compiled EF Core queries on the request's own context.</summary>
internal sealed class CompiledSlotQueries : ISlotQueries
{
    /// <summary>Other nodes store jobs too: nothing can be remembered.</summary>
    public bool Remembers => false;

    private static readonly Func<AgentCorexDb, string, CancellationToken, Task<int>> HeldByJobs = EF.CompileAsyncQuery(
        (AgentCorexDb db, string keyId, CancellationToken _) =>
            db.Jobs.Count(j => j.OwnerKeyId == keyId && !j.Parked && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running)));

    private static readonly Func<AgentCorexDb, string, CancellationToken, Task<bool>> HasParked = EF.CompileAsyncQuery(
        (AgentCorexDb db, string keyId, CancellationToken _) =>
            db.Jobs.Any(j => j.OwnerKeyId == keyId && j.Parked && j.Status == JobStatus.Queued));

    public Task<int> HeldByJobsAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken) => HeldByJobs(db(), keyId, cancellationToken);

    public Task<bool> HasParkedAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken) => HasParked(db(), keyId, cancellationToken);

    public bool SurelyNoneParked(string keyId) => false;

    public void Stored(string keyId, bool parked)
    {
    }

    public void NoneParked(string keyId)
    {
    }
}

/// <summary>
/// On the embedded database: two prepared statements on one connection of their own, kept open. Through EF
/// Core each question took about 0.6 ms (a pooled connection opened, set up and closed around a query), which
/// made a limited key's direct executions several times slower; a prepared SQLite statement answers in microseconds.
/// In WAL mode each statement reads the latest commit of every other connection. What an answer said is
/// remembered until this process stores a job of the key: a key with no jobs (or no parked ones) is not asked about again.
/// </summary>
internal sealed class SqliteSlotQueries : ISlotQueries, IDisposable
{
    private readonly Lock gate = new();
    private readonly ConcurrentDictionary<string, bool> holdsNoJobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> parksNone = new(StringComparer.Ordinal);
    private SqliteConnection? connection;
    private SqliteCommand? heldByJobs;
    private SqliteCommand? hasParked;

    public bool Remembers => true;

    public Task<int> HeldByJobsAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (holdsNoJobs.GetValueOrDefault(keyId))
        {
            return Task.FromResult(0);
        }
        int held;
        lock (gate)
        {
            Prepare(db());
            heldByJobs!.Parameters[0].Value = keyId;
            held = Convert.ToInt32(heldByJobs.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        holdsNoJobs[keyId] = held == 0;
        return Task.FromResult(held);
    }

    public Task<bool> HasParkedAsync(Func<AgentCorexDb> db, string keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (parksNone.GetValueOrDefault(keyId))
        {
            return Task.FromResult(false);
        }
        bool any;
        lock (gate)
        {
            Prepare(db());
            hasParked!.Parameters[0].Value = keyId;
            any = Convert.ToInt64(hasParked.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0;
        }
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
        else
        {
            holdsNoJobs[keyId] = false;
        }
    }

    public void NoneParked(string keyId) => parksNone[keyId] = true;

    private void Prepare(AgentCorexDb db)
    {
        if (connection is not null)
        {
            return;
        }
        connection = new SqliteConnection(db.Database.GetConnectionString());
        connection.Open();
        heldByJobs = Command(connection, $"SELECT COUNT(*) FROM jobs WHERE owner_key_id = $key AND parked = 0 AND status IN ('{JobStatus.Queued}', '{JobStatus.Running}')");
        hasParked = Command(connection, $"SELECT EXISTS (SELECT 1 FROM jobs WHERE owner_key_id = $key AND parked = 1 AND status = '{JobStatus.Queued}')");
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.Add(new SqliteParameter("$key", SqliteType.Text));
        command.Prepare();
        return command;
    }

    public void Dispose()
    {
        lock (gate)
        {
            heldByJobs?.Dispose();
            hasParked?.Dispose();
            connection?.Dispose();
        }
    }
}
