using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Web.Storage;

/// <summary>
/// The embedded database's hot reads (a job by its id, its place in the queue): prepared statements on
/// connections of their own, as <see cref="SqliteStatements"/> does for the writes, but several at once, since
/// WAL lets readers run beside the writer and each other. Through EF Core each such read rented a context,
/// translated its query, opened a connection and set its pragmas, then parsed the SQL: about a quarter of a
/// GET /jobs/{id} (docs/benchmarks.md).
/// </summary>
public sealed class SqliteReadPool(string connectionString, string synchronous) : IDisposable
{
    /// <summary>Connections kept between reads; more are opened while more readers are in at once, and closed after.</summary>
    private static readonly int MaxIdle = Math.Max(4, Environment.ProcessorCount * 2);

    private readonly ConcurrentStack<SqliteStatements> idle = new();
    private volatile bool disposed;

    /// <summary>Runs <paramref name="template"/> (parameters written {0}, {1}, ...); returns its first row read by <paramref name="read"/>, or the default.</summary>
    public T? QueryFirst<T>(string template, Func<SqliteDataReader, T> read, params object?[] values)
    {
        var statements = idle.TryPop(out var taken) ? taken : new SqliteStatements(connectionString, synchronous);
        try
        {
            return statements.QueryFirst(template, read, values);
        }
        finally
        {
            if (disposed || idle.Count >= MaxIdle)
            {
                statements.Dispose();
            }
            else
            {
                idle.Push(statements);
            }
        }
    }

    public void Dispose()
    {
        disposed = true;
        while (idle.TryPop(out var statements))
        {
            statements.Dispose();
        }
    }
}
