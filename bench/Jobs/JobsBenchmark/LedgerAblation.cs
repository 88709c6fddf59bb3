using System.Diagnostics;
using AgentCorex.Web.Jobs;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Bench.Jobs;

internal sealed record AblationRun(string Name, int Jobs, TimeSpan Took, Latencies WriteLatency, long SlowWrites, Vitals Vitals)
{
    public double JobsPerSecond => Jobs / Took.TotalSeconds;

    public override string ToString() =>
        $"{Name}: {JobsPerSecond:0} jobs/s, CPU {Vitals.MicrosecondsPer(Jobs):0} µs/job, {Vitals.CostsPer(Jobs)}, writes {WriteLatency}, {SlowWrites} writes ≥ 140 ms; {Vitals}";
}

/// <summary>
/// The ledger traffic of one API job, without HTTP or Hangfire: the submit's INSERT (its own scope, as a
/// request has), then, as ToolJob does in one scope, the read, the queued → running and the running →
/// completed updates. Run through the server's own JobLedger (its writer thread, which applies the writes of
/// concurrent callers in group commits, and its read pool), one caller or many, against the same statements on one
/// prepared connection: SQLite's own cost, and what the server's ledger adds.
/// </summary>
internal sealed class LedgerAblation(IServiceProvider services, string databasePath)
{
    /// <summary>The owner of every job an ablation adds, so the bench's ledger checks can leave them out.</summary>
    public const string OwnerKeyId = "key_ablation0000";

    /// <summary>Writes slower than this met a locked database: Microsoft.Data.Sqlite then sleeps 150 ms and retries.</summary>
    private static readonly long Slow = Stopwatch.Frequency * 140 / 1000;

    private static readonly JobEnding Completed = new(JobStatus.Completed, 0, Result: """{"message":"x"}""");

    /// <summary>How a job's ledger is reached: from a fresh scope, as the server does, or from a variant's factory.</summary>
    public delegate (JobLedger Ledger, IAsyncDisposable Lifetime) LedgerSource();

    public LedgerSource Server => () =>
    {
        var scope = services.CreateAsyncScope();
        return (scope.ServiceProvider.GetRequiredService<JobLedger>(), scope);
    };

    public async Task<AblationRun> RunAsync(string name, int jobs, int concurrency, LedgerSource source, CancellationToken cancellationToken)
    {
        var vitals = Vitals.Start();
        var started = Stopwatch.GetTimestamp();
        var next = 0;
        var writes = new List<long>[concurrency];
        // Task.Run: Microsoft.Data.Sqlite completes its "async" calls synchronously, so without it the first
        // worker would run every job before the second started.
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = writes[worker] = [];
            async Task Write(Func<Task> write)
            {
                var t0 = Stopwatch.GetTimestamp();
                await write();
                mine.Add(Stopwatch.GetTimestamp() - t0);
            }

            while (Interlocked.Increment(ref next) <= jobs)
            {
                var job = NewJob();
                var (submit, submitScope) = source();
                await using (submitScope)
                {
                    await Write(() => submit.AddAsync(job, cancellationToken));
                }
                var (run, runScope) = source();
                await using (runScope)
                {
                    var found = await run.FindAsync(job.Id, cancellationToken) ?? throw new InvalidOperationException("The job just added is not there.");
                    await Write(async () => Check(await run.TryStartAsync(found.Id, "1", 1, DateTime.UtcNow, 0, cancellationToken)));
                    await Write(async () => Check(await run.TryFinishAsync(found.Id, 1, Completed, DateTime.UtcNow, 0, CancellationToken.None)));
                }
            }
        }, cancellationToken)));
        var took = Stopwatch.GetElapsedTime(started);
        var all = writes.SelectMany(w => w).ToList();
        return new AblationRun(name, jobs, took, Latencies.FromTicks(all), all.Count(t => t >= Slow), vitals());
    }

    /// <summary>The floor: the same four statements per job on one open connection, prepared once, no EF Core.</summary>
    public async Task<AblationRun> RawSqliteAsync(int jobs, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection($"Data Source={databasePath}");
        await connection.OpenAsync(cancellationToken);
        await using (var pragmas = connection.CreateCommand())
        {
            pragmas.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
            await pragmas.ExecuteNonQueryAsync(cancellationToken);
        }
        var insert = Prepare(connection, $$"""
            INSERT INTO jobs (job_id, owner_key_id, tool, arguments, status, timeout_ms, attempt, created_at, tokens_input, tokens_output)
            VALUES ($id, '{{OwnerKeyId}}', 'echo', '{"message":"x"}', 'queued', 30000, 0, $now, 0, 0)
            """);
        var find = Prepare(connection, "SELECT * FROM jobs WHERE job_id = $id LIMIT 2");
        var start = Prepare(connection, "UPDATE jobs SET status = 'running', hangfire_id = '1', attempt = 1, started_at = $now WHERE job_id = $id AND status = 'queued'");
        var finish = Prepare(connection, """
            UPDATE jobs SET status = 'completed', completed_at = $now, execution_time_ms = 0, result = '{"message":"x"}',
                error_code = NULL, error_message = NULL, error_details = NULL, tokens_input = 0, tokens_output = 0
            WHERE job_id = $id AND status = 'running' AND attempt = 1
            """);
        var vitals = Vitals.Start();
        var started = Stopwatch.GetTimestamp();
        var writes = new List<long>(jobs * 3);
        for (var i = 0; i < jobs; i++)
        {
            var id = "job_" + Guid.NewGuid().ToString("N")[..12];
            foreach (var command in new[] { insert, find, start, finish })
            {
                command.Parameters["$id"].Value = id;
                if (command.Parameters.Contains("$now"))
                {
                    command.Parameters["$now"].Value = DateTime.UtcNow;
                }
                var t0 = Stopwatch.GetTimestamp();
                if (command == find)
                {
                    await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                    while (await reader.ReadAsync(cancellationToken))
                    {
                    }
                    continue;
                }
                if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
                {
                    throw new InvalidOperationException("A raw ledger statement changed no row.");
                }
                writes.Add(Stopwatch.GetTimestamp() - t0);
            }
        }
        var took = Stopwatch.GetElapsedTime(started);
        return new AblationRun("raw SQLite, 1 connection, prepared, sequential", jobs, took, Latencies.FromTicks(writes), writes.Count(t => t >= Slow), vitals());
    }

    private static SqliteCommand Prepare(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.Add(new SqliteParameter("$id", ""));
        if (sql.Contains("$now", StringComparison.Ordinal))
        {
            command.Parameters.Add(new SqliteParameter("$now", DateTime.UtcNow));
        }
        command.Prepare();
        return command;
    }

    private static JobEntry NewJob() => new()
    {
        Id = AgentCorex.Web.Execution.ExecutionIds.New("job_"),
        OwnerKeyId = OwnerKeyId,
        Tool = "echo",
        Arguments = """{"message":"x"}""",
        Status = JobStatus.Queued,
        TimeoutMs = 30_000,
        CreatedAt = DateTime.UtcNow,
    };

    private static void Check(bool changed)
    {
        if (!changed)
        {
            throw new InvalidOperationException("A ledger state change did not take effect.");
        }
    }
}
