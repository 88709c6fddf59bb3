using System.Globalization;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Web.Storage;

/// <summary>
/// The embedded database's hot writes on one connection of their own, each statement prepared once. Every
/// write of this process already queues at the <see cref="WriteGate"/>, so one connection loses nothing, and it
/// skips what an EF Core call costs for each statement: renting a context, opening a connection and setting
/// its pragmas, parsing the SQL. Measured in docs/benchmarks.md.
/// </summary>
public sealed class SqliteStatements(string connectionString, string synchronous) : IDisposable
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, SqliteCommand> prepared = new(StringComparer.Ordinal);
    private SqliteConnection? connection;

    /// <summary>
    /// Runs <paramref name="template"/>, whose parameters are written {0}, {1}, ... as for EF Core's
    /// ExecuteSqlRaw, with these values; returns the number of rows changed.
    /// </summary>
    public int Execute(string template, params object?[] values)
    {
        lock (gate)
        {
            return Bound(template, values).ExecuteNonQuery();
        }
    }

    /// <summary>Runs <paramref name="template"/> as <see cref="Execute"/> does; returns its first row read by <paramref name="read"/>, or the default when it has none.</summary>
    public T? QueryFirst<T>(string template, Func<SqliteDataReader, T> read, params object?[] values)
    {
        lock (gate)
        {
            // SQLite makes all of a statement's changes at its first step, RETURNING or not.
            using var reader = Bound(template, values).ExecuteReader();
            return reader.Read() ? read(reader) : default;
        }
    }

    /// <summary>Runs <paramref name="template"/> as <see cref="Execute"/> does; returns every row it answers, each read by <paramref name="read"/>.</summary>
    public List<T> QueryAll<T>(string template, Func<SqliteDataReader, T> read, params object?[] values)
    {
        lock (gate)
        {
            using var reader = Bound(template, values).ExecuteReader();
            var rows = new List<T>();
            while (reader.Read())
            {
                rows.Add(read(reader));
            }
            return rows;
        }
    }

    /// <summary>Whether a transaction begun by a statement of this connection is open (SQLite ends one itself on some errors).</summary>
    public bool InTransaction
    {
        get
        {
            lock (gate)
            {
                return connection is not null && SQLitePCL.raw.sqlite3_get_autocommit(connection.Handle) == 0;
            }
        }
    }

    /// <summary>Closes the connection and forgets its statements; the next statement opens a new one.</summary>
    public void Reset() => Dispose();

    private SqliteCommand Bound(string template, object?[] values)
    {
        var command = Prepared(template, values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
        return command;
    }

    private SqliteCommand Prepared(string template, int parameters)
    {
        if (prepared.TryGetValue(template, out var command))
        {
            return command;
        }
        connection ??= Open();
        var names = Enumerable.Range(0, parameters).Select(i => "$p" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
        command = connection.CreateCommand();
        command.CommandText = string.Format(CultureInfo.InvariantCulture, template, names);
        foreach (var name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        command.Prepare();
        prepared[template] = command;
        return command;
    }

    private SqliteConnection Open()
    {
        var opened = new SqliteConnection(connectionString);
        opened.Open();
        using var pragmas = opened.CreateCommand();
        pragmas.CommandText = SqlitePragmas.For(synchronous);
        pragmas.ExecuteNonQuery();
        return opened;
    }

    public void Dispose()
    {
        lock (gate)
        {
            foreach (var command in prepared.Values)
            {
                command.Dispose();
            }
            prepared.Clear();
            connection?.Dispose();
            connection = null;
        }
    }
}
