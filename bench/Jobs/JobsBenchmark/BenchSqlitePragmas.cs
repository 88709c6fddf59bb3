using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Per-connection pragmas for the what-if variants and the ledger ablations (the server's own SqlitePragmas
/// is internal to it), to set <c>PRAGMA busy_timeout</c>: with 0, a write that meets SQLite's write lock
/// returns SQLITE_BUSY at once, and Microsoft.Data.Sqlite answers that with Thread.Sleep(150) on the calling thread.
/// </summary>
internal sealed class BenchSqlitePragmas(string pragmas) : DbConnectionInterceptor
{
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
