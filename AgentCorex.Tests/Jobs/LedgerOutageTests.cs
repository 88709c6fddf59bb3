using System.Diagnostics;
using AgentCorex.Tests.Infrastructure;
using Npgsql;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A job's start or end that the database refuses for a while, as a failover, a restart or a serialization failure
/// would: the job still starts once the database takes it, and its outcome is stored, not left for the repair pass
/// to fail as cut off. The refusal is real PostgreSQL: a trigger on the ledger's jobs table that raises
/// serialization_failure (40001, which the client marks transient) for one kind of change, until the test drops it.
/// Hangfire's own tables are untouched, so only the ledger's writes fail.
/// </summary>
[NonParallelizable]
public sealed class LedgerOutageTests
{
    private string database = null!;
    private AgentCorexApp app = null!;

    [SetUp]
    public async Task StartServer()
    {
        var settings = await ServerTest.PostgreSqlSettingsAsync();
        database = settings["ConnectionStrings:AgentCorex"]!;
        app = new AgentCorexApp(settings);
    }

    [TearDown]
    public void StopServer() => app.Dispose();

    [Test]
    public async Task Job_WhoseStartTheDatabaseRefusesForAWhile_StartsOnceItIsTaken()
    {
        using var admin = app.CreateAdminClient();
        await RefuseAsync("OLD.status = 'queued' AND NEW.status = 'running'");

        var jobId = await admin.SubmitAsync("echo", new { message = "late start" });
        await RefusedAtLeastAsync(2);
        Assert.That((await admin.GetJobAsync(jobId)).Str("status"), Is.EqualTo("queued"));

        await AllowAsync();
        var job = await admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
            Assert.That(job.Str("result.message"), Is.EqualTo("late start"));
        });
    }

    [Test]
    public async Task Job_WhoseEndTheDatabaseRefusesForAWhile_KeepsItsOutcome()
    {
        using var admin = app.CreateAdminClient();
        await RefuseAsync("OLD.status = 'running' AND NEW.status <> 'running'");

        var jobId = await admin.SubmitAsync("echo", new { message = "late end" });
        await RefusedAtLeastAsync(2);
        Assert.That((await admin.GetJobAsync(jobId)).Str("status"), Is.EqualTo("running"));

        await AllowAsync();
        var job = await admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
            Assert.That(job.Str("result.message"), Is.EqualTo("late end"));
        });
    }

    /// <summary>From now on, every change of a job's row that matches <paramref name="when"/> fails, and is counted.</summary>
    private async Task RefuseAsync(string when) => await ExecuteAsync(
        $"""
        CREATE SEQUENCE ledger_refusals;
        CREATE FUNCTION refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM nextval('ledger_refusals'); -- a sequence is not rolled back with the refused change
            RAISE EXCEPTION 'refused by the test' USING ERRCODE = '40001';
        END $$;
        CREATE TRIGGER refuse_ledger_change BEFORE UPDATE ON jobs FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION refuse_ledger_change();
        """);

    private async Task AllowAsync() => await ExecuteAsync("DROP TRIGGER refuse_ledger_change ON jobs");

    private async Task RefusedAtLeastAsync(long count)
    {
        var waited = Stopwatch.StartNew();
        long refused;
        while ((refused = await RefusalsAsync()) < count)
        {
            if (waited.Elapsed > TimeSpan.FromSeconds(10))
            {
                Assert.Fail($"the server tried the refused change {refused} time(s) in 10 s, and gave up");
            }
            await Task.Delay(50);
        }
    }

    private async Task<long> RefusalsAsync()
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ledger_refusals", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
