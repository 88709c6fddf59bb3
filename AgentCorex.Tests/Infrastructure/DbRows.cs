using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>Rows read straight from the database, for tests that check what SQL or a migration left there.</summary>
public static class DbRows
{
    /// <summary>The first column of each row <paramref name="sql"/> gives, as text, on the context's open connection.</summary>
    public static async Task<List<string>> TextAsync(this AgentCorexDb db, string sql)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        var rows = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }
        return rows;
    }
}
