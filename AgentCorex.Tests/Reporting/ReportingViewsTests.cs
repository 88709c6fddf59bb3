using System.Data.Common;

namespace AgentCorex.Tests.Reporting;

/// <summary>
/// reporting/&lt;provider&gt;/views.sql over <see cref="ReportingLedger"/>, against answers worked out by hand.
/// A provider's subclass supplies only a database with the app's schema and the folder of its SQL file; the
/// seed and the answers are the same for every provider, as the views promise the same columns and values.
/// The fixture owns its database: nothing else writes to it.
/// </summary>
public abstract class ReportingViewsTests
{
    private DbConnection connection = null!;

    /// <summary>The folder under reporting/ that holds this provider's views.sql.</summary>
    protected abstract string Provider { get; }

    /// <summary>An open connection to an empty database that has the app's migrated schema.</summary>
    protected abstract Task<DbConnection> OpenMigratedDatabaseAsync(CancellationToken cancellationToken);

    /// <summary>How this provider's column takes a UTC time; the app's own writes are the model.</summary>
    protected virtual object Timestamp(DateTime utc) => utc;

    /// <summary>Runs a whole SQL file; a provider whose files hold batch separators splits them here.</summary>
    protected virtual async Task ExecuteScriptAsync(DbConnection database, string script, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand();
        command.CommandText = script;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    [OneTimeSetUp]
    public async Task SeedTheLedgerAndApplyTheViews()
    {
        connection = await OpenMigratedDatabaseAsync(CancellationToken.None);
        await ReportingLedger.SeedAsync(connection, Timestamp, CancellationToken.None);
        await ExecuteScriptAsync(connection, ReportingScripts.Views(Provider), CancellationToken.None);
    }

    [OneTimeTearDown]
    public async Task CloseTheDatabase()
    {
        await connection.DisposeAsync();
        await DropDatabaseAsync();
    }

    [Test]
    public async Task JobsPerToolPerDay_CountsEveryJobOnTheUtcDayItWasCreated()
    {
        var (columns, rows) = await QueryAsync("SELECT * FROM report_jobs_per_tool_per_day ORDER BY day, tool");

        Assert.That(columns, Is.EqualTo(new[] { "day", "tool", "jobs" }));
        Assert.That(rows, Is.EqualTo(new object?[][]
        {
            // completed 1..10, the timeout, and the job canceled at 23:59:59.9995
            ["2026-11-27", "alpha", 12L],
            // completed 11..20, 3 failed, 2 queued, 1 running
            ["2026-11-28", "alpha", 16L],
            ["2026-11-28", "beta", 6L],
            ["2026-11-29", "gamma", 2L],
        }));
    }

    [Test]
    public async Task OutcomeRates_DivideByFinishedJobs_AndAreZeroWhenNoneFinished()
    {
        var (columns, rows) = await QueryAsync("SELECT * FROM report_outcome_rates ORDER BY tool");

        Assert.That(columns, Is.EqualTo(new[]
        {
            "tool", "total", "completed", "failed", "timeout", "canceled", "success_rate", "failure_rate", "timeout_rate", "cancel_rate",
        }));
        Assert.That(rows, Is.EqualTo(new object?[][]
        {
            // 28 jobs, of which 25 finished (2 queued and 1 running are not)
            ["alpha", 28L, 20L, 3L, 1L, 1L, 20.0 / 25, 3.0 / 25, 1.0 / 25, 1.0 / 25],
            ["beta", 6L, 5L, 1L, 0L, 0L, 5.0 / 6, 1.0 / 6, 0.0, 0.0],
            ["gamma", 2L, 0L, 0L, 0L, 0L, 0.0, 0.0, 0.0, 0.0],
        }));
    }

    [Test]
    public async Task ExecutionTime_TakesNearestRankPercentilesOfCompletedJobsOnly()
    {
        var (columns, rows) = await QueryAsync("SELECT * FROM report_execution_time ORDER BY tool");

        Assert.That(columns, Is.EqualTo(new[] { "tool", "completed", "avg_execution_time_ms", "p50_execution_time_ms", "p95_execution_time_ms" }));
        Assert.That(rows, Is.EqualTo(new object?[][]
        {
            // 10, 20, ..., 200: mean 105; p50 is rank ceil(0.5 * 20) = 10, p95 rank ceil(0.95 * 20) = 19
            ["alpha", 20L, 105.0, 100L, 190L],
            // 3, 3, 7, 12, 50: mean 75 / 5; p50 is rank ceil(2.5) = 3, p95 rank ceil(4.75) = 5
            ["beta", 5L, 15.0, 7L, 50L],
            // gamma completed nothing: no row
        }));
    }

    [Test]
    public async Task QueueWait_MeasuresStartedJobsFromCreationToStart_InWholeMilliseconds()
    {
        var (columns, rows) = await QueryAsync("SELECT * FROM report_queue_wait ORDER BY tool");

        Assert.That(columns, Is.EqualTo(new[] { "tool", "started", "avg_queue_wait_ms", "p50_queue_wait_ms", "p95_queue_wait_ms" }));
        Assert.That(rows, Is.EqualTo(new object?[][]
        {
            // 1500, 3000, ..., 36000 (k = 1..24) and 600000 (the running job): mean (1500 * 300 + 600000) / 25;
            // p50 is rank 13, p95 rank ceil(23.75) = 24
            ["alpha", 25L, 42000.0, 19500L, 36000L],
            // 8, 40, 250, 250, 1000, 3000: mean 4548 / 6; p50 is rank 3, p95 rank ceil(5.7) = 6
            ["beta", 6L, 758.0, 250L, 3000L],
            // the running job started at once; the queued one has not started
            ["gamma", 1L, 0.0, 0L, 0L],
        }));
    }

    [Test]
    public async Task UsagePerKey_SumsJobsAndTokensPerOwner_NamingKnownKeys()
    {
        var (columns, rows) = await QueryAsync("SELECT * FROM report_usage_per_key ORDER BY key_id");

        Assert.That(columns, Is.EqualTo(new[] { "key_id", "key_name", "jobs", "completed", "tokens_input", "tokens_output", "tokens_total" }));
        Assert.That(rows, Is.EqualTo(new object?[][]
        {
            // input: 1 + ... + 20 from the completed jobs and 3 * 100 from the failed ones; output 2 * 210
            ["key_alice", "Alice", 28L, 20L, 510L, 420L, 930L],
            ["key_bob", "Bob", 6L, 5L, 5L, 50L, 55L],
            ["key_gone", null, 2L, 0L, 0L, 0L, 0L],
            // Carol owns no jobs: no row
        }));
    }

    [Test]
    public async Task Views_CanBeAppliedAgain_OverThemselves()
    {
        await ExecuteScriptAsync(connection, ReportingScripts.Views(Provider), CancellationToken.None);

        var (_, rows) = await QueryAsync("SELECT tool, p95_execution_time_ms FROM report_execution_time ORDER BY tool");

        Assert.That(rows, Is.EqualTo(new object?[][] { ["alpha", 190L], ["beta", 50L] }));
    }

    /// <summary>Integers as long and floating point as double, whatever width the provider returns; NULL as null.</summary>
    private async Task<(string[] Columns, List<object?[]> Rows)> QueryAsync(string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => Normalize(reader.GetValue(i)))]);
        }
        return (columns, rows);
    }

    private static object? Normalize(object value) => value switch
    {
        DBNull => null,
        int or short or byte => Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture),
        _ => value,
    };
}
