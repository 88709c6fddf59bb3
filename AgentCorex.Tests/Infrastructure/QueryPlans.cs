using System.Data.Common;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>A query's plan, as the database tells it, for tests that ask which index a query reads.</summary>
public static class QueryPlans
{
    /// <summary>
    /// Runs <paramref name="explain"/> (an EXPLAIN QUERY PLAN on SQLite, an EXPLAIN on PostgreSQL) and gives its
    /// lines, one per row: SQLite's detail column, PostgreSQL's one text column, each the last of its row.
    /// </summary>
    public static async Task<string> ReadAsync(DbCommand explain)
    {
        var lines = new List<string>();
        await using var reader = await explain.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(reader.FieldCount - 1));
        }
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>A statement with {n} places (as JobTotals.Sql writes it) with its values written in, to explain it.</summary>
    public static string Inline(string sql, object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            sql = sql.Replace($"{{{i}}}", $"'{values[i]}'");
        }
        return sql;
    }
}
