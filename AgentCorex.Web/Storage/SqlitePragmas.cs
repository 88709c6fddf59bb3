using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AgentCorex.Web.Storage;

/// <summary>
/// Per-connection SQLite settings. With the WAL journal, synchronous=NORMAL keeps every commit across a
/// process crash (kill -9) and skips an fsync per commit; only an OS crash or power loss can lose the last
/// commits. Storage:SqliteSynchronous=FULL trades throughput for that too.
/// </summary>
/// <remarks>
/// Nor does EF Core use a connection once the database's file is gone (<see cref="EmbeddedDatabaseFile"/>): a pooled one
/// would still reach the file it opened, whose writes would be lost.
/// </remarks>
internal sealed class SqlitePragmas(string synchronous, EmbeddedDatabaseFile? file) : DbConnectionInterceptor
{
    // busy_timeout: should a write still meet a lock (another process, a migration), SQLite retries it in
    // small steps instead of failing at once into Microsoft.Data.Sqlite's 150 ms sleep.
    // wal_autocheckpoint=16384: no commit copies the WAL back into the database itself until the WAL passes 64 MB (4 KB
    // pages), as copying stalled the writer for 15-70 ms every thousand pages; SqliteWriter's checkpointer does it on a
    // thread of its own. But SQLite starts a WAL over only once all of it is copied, and the checkpointer, racing commits
    // that never pause, never got that far: the WAL grew by the whole write traffic (4.9 GB in a minute of 1,000 jobs a
    // second). Past 64 MB the commit copies what the checkpointer left (commits wait meanwhile, so it gets to the end),
    // and the next commit starts the WAL over. journal_size_limit: a WAL started over is cut back to 64 MB, not kept at
    // the size a burst left it.
    private readonly string pragmas = For(synchronous);

    public static string For(string synchronous) =>
        $"PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=16384; PRAGMA journal_size_limit=67108864;";

    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result) =>
        file is { IsGone: true } ? throw file.Refusal() : result;

    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(
        DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default) =>
        file is { IsGone: true } ? throw file.Refusal() : ValueTask.FromResult(result);

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
