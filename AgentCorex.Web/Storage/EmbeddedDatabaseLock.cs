using AgentCorex.Web.Api;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Web.Storage;

/// <summary>
/// The embedded default serves one node: this process's Hangfire runs in memory, and at start it takes the jobs the
/// ledger shows queued or running as its own to recover. A second process on the same SQLite file would run those
/// jobs again and fail the first one's running jobs as cut off. So the file is taken for the process's lifetime, by an
/// exclusive lock on a file beside it (<c>agentcorex.db.lock</c>), which the operating system lets go of however the
/// process ends (kill -9 included). Held from the build, let go of as the container is disposed.
/// </summary>
internal sealed class EmbeddedDatabaseLock : IHostedService, IDisposable
{
    private readonly FileStream held;

    private EmbeddedDatabaseLock(FileStream held) => this.held = held;

    /// <returns>null for an in-memory database, which no other process can open.</returns>
    public static EmbeddedDatabaseLock? Take(string connectionString)
    {
        var database = new SqliteConnectionStringBuilder(connectionString);
        if (database.DataSource is ":memory:" or "" || database.Mode == SqliteOpenMode.Memory)
        {
            return null;
        }
        var path = database.DataSource + ".lock";
        try
        {
            // FileShare.None: on Linux and macOS .NET takes an exclusive advisory lock (flock) on the open file.
            return new EmbeddedDatabaseLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StartupRefusedException($"the embedded database's lock file '{path}' cannot be made: {e.Message}", e);
        }
        catch (IOException e)
        {
            throw new StartupRefusedException(
                $"the embedded database '{database.DataSource}' is in use by another AgentCorex process (it holds '{path}'). " +
                "The embedded default serves one node; for several, use Storage:Provider PostgreSql or SqlServer.", e);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => held.Dispose();
}
