using System.Data.Common;

namespace AgentCorex.Tests.Reporting;

/// <summary>
/// A small ledger whose report answers are worked out by hand in <see cref="ReportingViewsTests"/>. Rows are
/// written with plain parameterised INSERTs, so the same seed serves every provider; only how a timestamp is
/// bound differs (SQLite takes EF's text format).
/// </summary>
internal static class ReportingLedger
{
    public sealed record Row(
        string JobId,
        string Owner,
        string Tool,
        string Status,
        DateTime CreatedAt,
        long? WaitMs = null,
        long? ExecutionTimeMs = null,
        long TokensInput = 0,
        long TokensOutput = 0,
        DateTime? CanceledAt = null)
    {
        public DateTime? StartedAt => WaitMs is { } wait ? CreatedAt.AddMilliseconds(wait) : null;

        public DateTime? CompletedAt => CanceledAt ?? (ExecutionTimeMs is { } ms ? StartedAt!.Value.AddMilliseconds(ms) : null);
    }

    private static readonly DateTime Nov27 = new(2026, 11, 27, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Nov28 = Nov27.AddDays(1);
    private static readonly DateTime Nov29 = Nov27.AddDays(2);

    // Seven digits of fraction, as the app writes them; waits and runs are whole milliseconds on top.
    private static readonly TimeSpan Fraction = TimeSpan.FromTicks(1_234_567);

    public static IEnumerable<Row> Jobs()
    {
        // alpha (Alice): completed k = 1..20 waited k * 1500 ms and ran 10..200 ms, in an order unlike either
        // the insertion or the waits: (7k mod 20 + 1) * 10 takes every value once.
        for (var k = 1; k <= 20; k++)
        {
            yield return new($"job_alpha_{k:00}", "key_alice", "alpha", "completed", (k <= 10 ? Nov27 : Nov28).AddHours(10).AddMinutes(k) + Fraction,
                WaitMs: k * 1500, ExecutionTimeMs: (7 * k % 20 + 1) * 10, TokensInput: k, TokensOutput: 2 * k);
        }
        // Failed and timed-out runs are long, so that counting them among the completed would show.
        for (var k = 21; k <= 23; k++)
        {
            yield return new($"job_alpha_{k}", "key_alice", "alpha", "failed", Nov28.AddHours(11).AddMinutes(k) + Fraction,
                WaitMs: k * 1500, ExecutionTimeMs: 9_000, TokensInput: 100);
        }
        yield return new("job_alpha_24", "key_alice", "alpha", "timeout", Nov27.AddHours(12) + Fraction, WaitMs: 24 * 1500, ExecutionTimeMs: 100_000);
        yield return new("job_alpha_25", "key_alice", "alpha", "running", Nov28.AddHours(14) + Fraction, WaitMs: 600_000);
        // Created at 23:59:59.9995, the last instant of the 27th; canceled while queued, so it never started.
        yield return new("job_alpha_26", "key_alice", "alpha", "canceled", Nov28.AddTicks(-5_000), CanceledAt: Nov28.AddSeconds(5));
        yield return new("job_alpha_27", "key_alice", "alpha", "queued", Nov28.AddHours(13));
        yield return new("job_alpha_28", "key_alice", "alpha", "queued", Nov28.AddHours(13).AddMinutes(1));

        // beta (Bob): five completed runs with a tie, one failure.
        long[] runs = [7, 3, 3, 50, 12];
        long[] waits = [250, 250, 1000, 40, 3000];
        for (var i = 0; i < runs.Length; i++)
        {
            yield return new($"job_beta_{i + 1}", "key_bob", "beta", "completed", Nov28.AddHours(15).AddMinutes(i).AddSeconds(0.5),
                WaitMs: waits[i], ExecutionTimeMs: runs[i], TokensInput: 1, TokensOutput: 10);
        }
        yield return new("job_beta_6", "key_bob", "beta", "failed", Nov28.AddHours(15).AddMinutes(10), WaitMs: 8, ExecutionTimeMs: 400);

        // gamma: a key that is not in api_keys; nothing finished, one run started at once.
        yield return new("job_gamma_1", "key_gone", "gamma", "queued", Nov29.AddHours(9));
        yield return new("job_gamma_2", "key_gone", "gamma", "running", Nov29.AddHours(9).AddSeconds(1), WaitMs: 0);
    }

    /// <summary>Carol owns no jobs.</summary>
    public static readonly (string KeyId, string Name)[] Keys = [("key_alice", "Alice"), ("key_bob", "Bob"), ("key_carol", "Carol")];

    public static async Task SeedAsync(DbConnection connection, Func<DateTime, object> timestamp, CancellationToken cancellationToken)
    {
        foreach (var (keyId, name) in Keys)
        {
            await ExecuteAsync(connection,
                "INSERT INTO api_keys (key_id, name, plan, is_admin, secret_hash, created_at) VALUES (@id, @name, 'free', @admin, @hash, @created)",
                cancellationToken,
                ("@id", keyId), ("@name", name), ("@admin", false), ("@hash", new byte[32]), ("@created", timestamp(Nov27)));
        }
        foreach (var job in Jobs())
        {
            await ExecuteAsync(connection,
                """
                INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, timeout_ms, attempt, created_at, started_at, completed_at,
                                  execution_time_ms, tokens_input, tokens_output)
                VALUES (@id, @owner, @tool, '{}', @status, 30000, 1, @created, @started, @completed, @ms, @tokens_in, @tokens_out)
                """,
                cancellationToken,
                ("@id", job.JobId), ("@owner", job.Owner), ("@tool", job.Tool), ("@status", job.Status),
                ("@created", timestamp(job.CreatedAt)),
                ("@started", job.StartedAt is { } started ? timestamp(started) : null),
                ("@completed", job.CompletedAt is { } completed ? timestamp(completed) : null),
                ("@ms", job.ExecutionTimeMs), ("@tokens_in", job.TokensInput), ("@tokens_out", job.TokensOutput));
        }
    }

    private static async Task ExecuteAsync(DbConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
