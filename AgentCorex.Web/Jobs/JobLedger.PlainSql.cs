using System.Data;
using System.Data.Common;
using System.Globalization;
using AgentCorex.Web.Storage;
using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace AgentCorex.Web.Jobs;

// How the ledger's plain SQL runs on each database: its writes, its rows read back, its timestamps.
public sealed partial class JobLedger
{
    /// <summary>SQL Server's context is a type of its own (StorageExtensions); EF's IsSqlServer() reads an assembly's name on every call.</summary>
    private bool IsSqlServer => db is SqlServerAgentCorexDb;

    /// <summary>
    /// A timestamp for the plain-SQL statements. SqlClient would send a bare DateTime as the old datetime type
    /// (3 ms steps), rounding it against the datetime2 column; Npgsql and SQLite map a UTC DateTime exactly.
    /// </summary>
    private object Timestamp(DateTime utc) =>
        IsSqlServer ? new SqlParameter { SqlDbType = SqlDbType.DateTime2, Value = utc } : utc;

    /// <summary>
    /// Whether a time read back from the ledger is <paramref name="written"/>, so that a write stored while its answer was
    /// lost (the connection cut between commit and answer) is known for the writer's own when it reads the row again:
    /// the databases keep a time to the microsecond at least (SQLite and SQL Server to the tick), and no other write has
    /// the same time to the microsecond (another node's, another try of a job's start, 100 ms apart at least, a cancel's).
    /// </summary>
    public static bool IsTimeWritten(DateTime read, DateTime written) => Math.Abs((read - written).Ticks) < TimeSpan.TicksPerMicrosecond;

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
}
