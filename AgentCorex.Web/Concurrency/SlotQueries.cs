using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Concurrency;

/// <summary>The two questions asked of the ledger on every execution of a key that has a limit.</summary>
public interface ISlotQueries
{
    /// <summary>The key's jobs holding slots: handed to Hangfire (not parked), queued or running.</summary>
    Task<int> HeldByJobsAsync(AgentCorexDb db, string keyId, CancellationToken cancellationToken);

    Task<bool> HasParkedAsync(AgentCorexDb db, string keyId, CancellationToken cancellationToken);
}

/// <summary>On a server database: compiled EF Core queries on the request's own context.</summary>
internal sealed class CompiledSlotQueries : ISlotQueries
{
    private static readonly Func<AgentCorexDb, string, CancellationToken, Task<int>> HeldByJobs = EF.CompileAsyncQuery(
        (AgentCorexDb db, string keyId, CancellationToken _) =>
            db.Jobs.Count(j => j.OwnerKeyId == keyId && !j.Parked && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running)));

    private static readonly Func<AgentCorexDb, string, CancellationToken, Task<bool>> HasParked = EF.CompileAsyncQuery(
        (AgentCorexDb db, string keyId, CancellationToken _) =>
            db.Jobs.Any(j => j.OwnerKeyId == keyId && j.Parked && j.Status == JobStatus.Queued));

    public Task<int> HeldByJobsAsync(AgentCorexDb db, string keyId, CancellationToken cancellationToken) => HeldByJobs(db, keyId, cancellationToken);

    public Task<bool> HasParkedAsync(AgentCorexDb db, string keyId, CancellationToken cancellationToken) => HasParked(db, keyId, cancellationToken);
}

/// <summary>
/// On the embedded database: two prepared statements on one connection of their own, kept open. Through EF
/// Core each question took about 0.6 ms (a pooled connection opened, set up and closed around a query), which
/// made a limited key's direct executions several times slower; a prepared SQLite statement answers in microseconds.
/// In WAL mode each statement reads the latest commit of every other connection.
/// </summary>
internal sealed class SqliteSlotQueries : ISlotQueries, IDisposable
{
    private readonly Lock gate = new();
    private SqliteConnection? connection;
    private SqliteCommand? heldByJobs;
    private SqliteCommand? hasParked;

    public Task<int> HeldByJobsAsync(AgentCorexDb db, string keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (gate)
        {
            Prepare(db);
            heldByJobs!.Parameters[0].Value = keyId;
            return Task.FromResult(Convert.ToInt32(heldByJobs.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    public Task<bool> HasParkedAsync(AgentCorexDb db, string keyId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (gate)
        {
            Prepare(db);
            hasParked!.Parameters[0].Value = keyId;
            return Task.FromResult(Convert.ToInt64(hasParked.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) != 0);
        }
    }

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
