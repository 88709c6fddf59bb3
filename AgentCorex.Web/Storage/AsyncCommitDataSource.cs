using Npgsql;

namespace AgentCorex.Web.Storage;

/// <summary>
/// PostgreSQL connections whose commits do not wait for their WAL flush (synchronous_commit=off), for rows that
/// count rather than record: the requests of a key's current minute and the direct executions holding its
/// slots. Every request of a key changes the same rows under the same lock, and a commit that waited for the
/// disk would hold that lock the while, so one key's requests on every node would queue behind each other's
/// disk writes. A change is visible to every node as soon as it commits; only a crash of the database server
/// itself can lose the last fraction of a second of them (a few more requests let through in that minute, a
/// slot freed early). Jobs, keys and webhooks keep their synchronous commits.
/// </summary>
public sealed class AsyncCommitDataSource(string connectionString) : IAsyncDisposable, IDisposable
{
    public NpgsqlDataSource Source { get; } = Create(connectionString);

    private static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            NoResetOnClose = true, // no session state is left on them
            MaxAutoPrepare = 8,
            AutoPrepareMinUsages = 2,
        };
        builder.Options = $"{builder.Options} -c synchronous_commit=off".TrimStart(); // after the connection string's own options
        return NpgsqlDataSource.Create(builder);
    }

    public ValueTask DisposeAsync() => Source.DisposeAsync();

    /// <summary>For a container disposed synchronously (a test's).</summary>
    public void Dispose() => Source.Dispose();
}
