using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Bench.Jobs;

internal sealed record ListingRun(string Caller, string Query, long Total, Latencies Latency);

/// <summary>
/// GET /jobs against a ledger of a million jobs, most of them one key's: each query the contract's filters allow,
/// as that key and as an admin key, one request at a time (a page's own time, with its total counted).
/// </summary>
internal static class ListingLoad
{
    public const int OwnedOneIn = 5;

    /// <summary>Every filter, and pages deep in the list (offset counts rows the database must pass over).</summary>
    public static readonly string[] Queries =
    [
        "", "?status=failed", "?status=completed", "?tool=fail", "?tool=echo",
        "?tool=echo&status=failed", "?tool=fail&status=completed", "?offset=500000", "?status=completed&offset=500000", "?tool=echo&offset=500000",
    ];

    /// <summary>
    /// Finished jobs over the last 30 days, straight into the jobs table in one statement: of every five, four
    /// are the given key's; echo mostly, wait one in a hundred, fail one in a thousand; completed mostly, failed
    /// one in fifty, canceled one in a thousand.
    /// </summary>
    public static async Task<TimeSpan> SeedAsync(string databasePath, string ownerKeyId, int rows, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var connection = new SqliteConnection($"Data Source={databasePath}");
        await connection.OpenAsync(cancellationToken);
        await using var insert = connection.CreateCommand();
        insert.CommandTimeout = 600;
        // created_at as EF Core writes it (seven decimals), a row every (30 days / rows) seconds.
        insert.CommandText = """
            PRAGMA busy_timeout = 60000;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows),
            row(i, at) AS (SELECT i, strftime('%Y-%m-%d %H:%M:%f', $from, '+' || (i * $step) || ' seconds') || '0000' FROM n)
            INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, timeout_ms, attempt, created_at, started_at, completed_at,
                              execution_time_ms, result, tokens_input, tokens_output)
            SELECT 'job_l' || printf('%011d', i),
                   CASE WHEN i % $ownedOneIn = 0 THEN 'key_listother' || (i % 3) ELSE $owner END,
                   CASE WHEN i % 100 = 7 THEN 'wait' WHEN i % 1000 = 3 THEN 'fail' ELSE 'echo' END,
                   '{"message":"x"}',
                   CASE WHEN i % 50 = 1 THEN 'failed' WHEN i % 1000 = 2 THEN 'canceled' ELSE 'completed' END,
                   30000, 1, at, at, at, 1, '{"message":"x"}', 0, 0
            FROM row
            """;
        var from = DateTime.UtcNow.AddDays(-30);
        insert.Parameters.AddWithValue("$rows", rows);
        insert.Parameters.AddWithValue("$from", from.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        insert.Parameters.AddWithValue("$step", 30 * 86_400.0 / rows);
        insert.Parameters.AddWithValue("$ownedOneIn", OwnedOneIn);
        insert.Parameters.AddWithValue("$owner", ownerKeyId);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return Stopwatch.GetElapsedTime(started);
    }

    public static async Task<ListingRun> RunAsync(ApiClients clients, string caller, string apiKey, string query, int requests, CancellationToken cancellationToken)
    {
        using var client = clients.Create(apiKey);
        var ticks = new List<long>(requests);
        long total = -1;
        // Three unmeasured first: the query's plan, and its pages read into the cache.
        for (var i = -3; i < requests; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            using var response = await client.GetAsync("/jobs" + query, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var t1 = Stopwatch.GetTimestamp();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new InvalidOperationException($"GET /jobs{query} answered {(int)response.StatusCode}: {body}");
            }
            if (i >= 0)
            {
                ticks.Add(t1 - t0);
            }
            total = JsonDocument.Parse(body).RootElement.GetProperty("pagination").GetProperty("total").GetInt64();
        }
        return new ListingRun(caller, query, total, Latencies.FromTicks(ticks));
    }
}
