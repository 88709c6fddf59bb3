using AgentCorex.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace AgentCorex.Tests.Reporting;

/// <summary>
/// reporting/sqlite/views.sql applied to the file of a server at work, as README tells an analyst to: with the sqlite3
/// CLI, which sets no busy timeout of its own, so that one the file does not set is none and a statement that meets the
/// server's write lock fails at once.
/// </summary>
public sealed class SqliteViewsWhileServerWritesTests
{
    private static readonly string[] Views =
        ["report_execution_time", "report_jobs_per_tool_per_day", "report_outcome_rates", "report_queue_wait", "report_usage_per_key"];

    [Test]
    public async Task Views_ApplyEveryTime_WhileTheServerWritesJobs()
    {
        using var data = TempFolder.Create("agentcorex-views-load-");
        using var app = new AgentCorexApp(dataDirectory: data.Path);
        using var client = app.CreateAdminClient();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 8).Select(_ => SubmitUntilAsync(client, stop.Token)).ToList();
        var database = data.File("agentcorex.db");
        var failures = new List<string>();
        try
        {
            for (var apply = 0; apply < 100; apply++)
            {
                if (ApplyAsTheCliDoes(database) is { } failure)
                {
                    failures.Add(failure);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(10));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        Assert.That(failures, Is.Empty);
        Assert.That(await ViewsAsync(database), Is.EqualTo(Views));
    }

    /// <summary>
    /// <c>sqlite3 -bail</c>: a connection of its own with no busy timeout, the file run statement by statement
    /// (sqlite3_exec) up to its first error, and the connection closed (an open transaction rolled back). The error, or null.
    /// </summary>
    private static string? ApplyAsTheCliDoes(string database)
    {
        using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        raw.sqlite3_busy_timeout(connection.Handle, 0);
        return raw.sqlite3_exec(connection.Handle, ReportingScripts.Views("sqlite"), out var error) == raw.SQLITE_OK ? null : error;
    }

    private static async Task SubmitUntilAsync(HttpClient client, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await client.SubmitAsync("echo", new { message = "load" });
        }
    }

    private static async Task<List<string>> ViewsAsync(string database)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name";
        await using var reader = await command.ExecuteReaderAsync();
        var names = new List<string>();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }
        return names;
    }
}
