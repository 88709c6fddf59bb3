using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Bench.Jobs;

/// <summary>The ids the bench's own key owns among the seeded rows.</summary>
internal sealed record SeededJobs(IReadOnlyList<string> Completed, IReadOnlyList<string> Queued, long LedgerRows, TimeSpan Took);

/// <summary>
/// Fills the ledger to a realistic size in one transaction, straight into the jobs table: finished jobs of
/// the last 30 days spread over several keys (one in four is the bench key's), and a few queued ones, which
/// Hangfire never hears of, so that GET on them computes position_in_queue against a real queue.
/// </summary>
internal static class LedgerSeed
{
    private const int Owners = 4;

    public static async Task<SeededJobs> RunAsync(string databasePath, string benchKeyId, int completedRows, int queuedRows, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        string[] owners = [benchKeyId, .. Enumerable.Range(1, Owners - 1).Select(i => $"key_seedowner{i:000}")];
        var mineCompleted = new List<string>();
        var mineQueued = new List<string>();
        var now = DateTime.UtcNow;

        await using var connection = new SqliteConnection($"Data Source={databasePath}");
        await connection.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, timeout_ms, attempt, created_at, started_at, completed_at,
                              execution_time_ms, result, tokens_input, tokens_output)
            VALUES ($id, $owner, 'echo', '{"message":"x"}', $status, 30000, $attempt, $created, $started, $completed,
                    $time, $result, 0, 0)
            """;
        var p = new Dictionary<string, SqliteParameter>();
        foreach (var name in new[] { "$id", "$owner", "$status", "$attempt", "$created", "$started", "$completed", "$time", "$result" })
        {
            p[name] = insert.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        insert.Prepare();

        for (var i = 0; i < completedRows + queuedRows; i++)
        {
            var queued = i >= completedRows;
            var id = ExecutionIds.New("job_");
            var owner = owners[i % Owners];
            // Finished jobs over the last 30 days; queued ones in the last minute, oldest first.
            var created = queued
                ? now.AddMinutes(-1).AddMilliseconds(60_000.0 * (i - completedRows) / Math.Max(1, queuedRows))
                : now.AddDays(-30).AddSeconds(30 * 86_400.0 * i / Math.Max(1, completedRows));
            p["$id"].Value = id;
            p["$owner"].Value = owner;
            p["$status"].Value = queued ? JobStatus.Queued : JobStatus.Completed;
            p["$attempt"].Value = queued ? 0 : 1;
            p["$created"].Value = created;
            p["$started"].Value = queued ? DBNull.Value : created.AddMilliseconds(5);
            p["$completed"].Value = queued ? DBNull.Value : created.AddMilliseconds(6);
            p["$time"].Value = queued ? DBNull.Value : 0L;
            p["$result"].Value = queued ? DBNull.Value : """{"message":"x"}""";
            await insert.ExecuteNonQueryAsync(cancellationToken);
            if (owner == benchKeyId)
            {
                (queued ? mineQueued : mineCompleted).Add(id);
            }
        }
        await transaction.CommitAsync(cancellationToken);

        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM jobs";
        var rows = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        return new SeededJobs(mineCompleted, mineQueued, rows, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }
}
