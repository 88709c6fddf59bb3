using System.Globalization;
using Npgsql;

namespace AgentCorex.Bench.Jobs;

/// <summary>What the database did for a run: commits, rollbacks, WAL bytes and WAL flushes, from PostgreSQL's statistics.</summary>
internal sealed record PgCounters(long Commits, long Rollbacks, long WalBytes, long WalSyncs)
{
    public static PgCounters operator -(PgCounters a, PgCounters b) =>
        new(a.Commits - b.Commits, a.Rollbacks - b.Rollbacks, a.WalBytes - b.WalBytes, a.WalSyncs - b.WalSyncs);
}

/// <summary>One statement of pg_stat_statements over a run.</summary>
internal sealed record PgStatement(long Calls, double TotalMs, string Query);

/// <summary>
/// Reads the shared database's statistics. pg_stat_database and pg_stat_wal are flushed by each backend
/// at most once a second while busy and up to 10 s after it goes idle (PostgreSQL 15's PGSTAT_IDLE_INTERVAL),
/// so a reading is only exact after 11 s without work; pg_stat_statements and the WAL position are current.
/// </summary>
internal sealed class PgStats(string connectionString)
{
    public static readonly TimeSpan FlushDelay = TimeSpan.FromSeconds(11);

    private PgCounters? settled;

    public bool HasStatements { get; private set; }

    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", cancellationToken);
            await ExecuteAsync("SELECT pg_stat_statements_reset()", cancellationToken);
            HasStatements = true;
        }
        catch (PostgresException)
        {
            HasStatements = false; // not preloaded in this cluster: commits only
        }
    }

    /// <summary>Anything ran since the last settled reading (warm-up, idle latency): the next one must wait again.</summary>
    public void Touched() => settled = null;

    /// <summary>The counters once every backend has flushed its statistics.</summary>
    public async Task<PgCounters> SettledAsync(CancellationToken cancellationToken)
    {
        if (settled is { } known)
        {
            return known;
        }
        await Task.Delay(FlushDelay, cancellationToken);
        return settled = await ReadAsync(cancellationToken);
    }

    public async Task ResetStatementsAsync(CancellationToken cancellationToken)
    {
        if (HasStatements)
        {
            await ExecuteAsync("SELECT pg_stat_statements_reset()", cancellationToken);
        }
    }

    public async Task<IReadOnlyList<PgStatement>> StatementsAsync(CancellationToken cancellationToken)
    {
        var statements = new List<PgStatement>();
        if (!HasStatements)
        {
            return statements;
        }
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT calls, total_exec_time, regexp_replace(query, '\s+', ' ', 'g')
            FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
            WHERE d.datname = current_database() AND query NOT LIKE '%pg_stat_statements%'
            ORDER BY calls DESC
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            statements.Add(new PgStatement(reader.GetInt64(0), reader.GetDouble(1), reader.GetString(2)));
        }
        return statements;
    }

    private async Task<PgCounters> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            SELECT d.xact_commit, d.xact_rollback, pg_current_wal_lsn() - '0/0'::pg_lsn, w.wal_sync
            FROM pg_stat_database d, pg_stat_wal w WHERE d.datname = current_database()
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new PgCounters(reader.GetInt64(0), reader.GetInt64(1), (long)reader.GetDecimal(2), reader.GetInt64(3));
    }

    /// <summary>The processes of this PostgreSQL cluster: backends and its background processes (not the postmaster).</summary>
    public async Task<List<int>> BackendPidsAsync()
    {
        var pids = new List<int>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pid FROM pg_stat_activity", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            pids.Add(reader.GetInt32(0));
        }
        return pids;
    }

    public async Task<long> CountAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
