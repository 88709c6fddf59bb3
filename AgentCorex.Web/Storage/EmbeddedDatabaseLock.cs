using AgentCorex.Web.Api;

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

    /// <summary>Takes <paramref name="database"/> (the SQLite file's full path) for this process; refuses the start if another process holds it.</summary>
    public static EmbeddedDatabaseLock Take(string database)
    {
        var path = database + ".lock";
        try
        {
            // FileShare.None: on Linux and macOS .NET takes an exclusive advisory lock (flock) on the open file.
            return new EmbeddedDatabaseLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (UnauthorizedAccessException e)
        {
            throw new StartupRefusedException($"the embedded database's lock file '{path}' cannot be made: {e.Message}", e);
        }
        catch (IOException e) when (HeldByAnother(e))
        {
            throw new StartupRefusedException(
                $"the embedded database '{database}' is in use by another AgentCorex process (it holds '{path}'). " +
                "The embedded default serves one node; for several, use Storage:Provider PostgreSql or SqlServer.", e);
        }
        catch (IOException e)
        {
            // A read-only file system, a broken link: not another process, which is what an operator would look for.
            throw new StartupRefusedException($"the embedded database's lock file '{path}' cannot be opened: {e.Message}", e);
        }
    }

    /// <summary>The lock is taken: EWOULDBLOCK from flock (11 on Linux, 35 on macOS), or Windows' sharing or lock violation.</summary>
    private static bool HeldByAnother(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => held.Dispose();
}
