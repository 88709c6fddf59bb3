using System.Diagnostics;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;
using Hangfire;
using Hangfire.States;
using AgentCorex.Web.Jobs;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A job's start or end that the database refuses for a while, as a failover, a restart or a serialization failure
/// would: the job still starts once the database takes it, and its outcome is stored, not left for the repair pass
/// to fail as cut off. The refusal is real PostgreSQL: a trigger on the ledger's jobs table that raises
/// serialization_failure (40001, which the client marks transient) for one kind of change, until the test drops it.
/// Hangfire's own tables are untouched, so only the ledger's writes fail. And the other way round, a change stored
/// in the ledger that Hangfire cannot be told of for a moment (<see cref="FailingHangfireClient"/>); and a lock on a
/// job's Hangfire state that a node killed mid-change left behind.
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
        settings["Jobs:ReconcileInterval"] = "00:00:01"; // the sweep that hands over parked jobs
        app = new AgentCorexApp(settings);
    }

    [TearDown]
    public void StopServer() => app.Dispose();

    /// <summary>
    /// A start refused: the tool has not run, and the job is started once the database takes it (not failed in
    /// Hangfire and left queued for the repair pass's 10 minutes). An end refused: the outcome is kept until stored
    /// (not failed by the repair pass as a run cut off).
    /// </summary>
    [TestCase("OLD.status = 'queued' AND NEW.status = 'running'", "queued", TestName = "Job_WhoseStartTheDatabaseRefusesForAWhile_StartsOnceItIsTaken")]
    [TestCase("OLD.status = 'running' AND NEW.status <> 'running'", "running", TestName = "Job_WhoseEndTheDatabaseRefusesForAWhile_KeepsItsOutcome")]
    public async Task Job_WhoseChangeTheDatabaseRefusesForAWhile_CompletesOnceItIsTaken(string refused, string meanwhile)
    {
        using var admin = app.CreateAdminClient();
        await RefuseAsync(refused);

        var jobId = await admin.SubmitAsync("echo", new { message = "late" });
        await RefusedAtLeastAsync(2);
        Assert.That((await admin.GetJobAsync(jobId)).Str("status"), Is.EqualTo(meanwhile));

        await AllowAsync();
        var job = await admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
            Assert.That(job.Str("result.message"), Is.EqualTo("late"));
        });
    }

    /// <summary>An end kept through an outage says when the tool ended, not when the database took it (an audit saw 28 s for a 6 s job).</summary>
    [Test]
    public async Task Job_WhoseEndTheDatabaseRefusesForSeconds_KeepsTheTimeItEnded()
    {
        using var admin = app.CreateAdminClient();
        await RefuseAsync("OLD.status = 'running' AND NEW.status <> 'running'");

        var jobId = await admin.SubmitAsync("echo", new { message = "late" });
        await RefusedAtLeastAsync(5); // pauses of 0.1, 0.2, 0.4 and 0.8 s between them
        await AllowAsync();
        await admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT completed_at - started_at, now() - completed_at FROM jobs WHERE job_id = $1", connection);
        command.Parameters.Add(new() { Value = jobId });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();

        Assert.That(reader.GetTimeSpan(0), Is.LessThan(TimeSpan.FromMilliseconds(500)), "an echo's run, not the outage");
        Assert.That(reader.GetTimeSpan(1), Is.GreaterThan(TimeSpan.FromSeconds(1)), "the end was stored over a second after it");
    }

    /// <summary>
    /// A stop's drain gives a running tool Jobs:ShutdownTimeout to end, and its end is tried again meanwhile as at any
    /// other time, not given up at the first refusal because the stop has begun: the ledger says completed (not running,
    /// for the restart to take as cut off, nor failed by a repair pass elsewhere).
    /// </summary>
    [Test]
    public async Task Job_WhoseEndTheDatabaseRefusesDuringTheDrain_KeepsItsOutcome()
    {
        using var node = app.WithWebHostBuilder(web => web.UseSetting("Jobs:ShutdownTimeout", "00:00:10")); // the tests' 0.5 s would cut the tool off
        using var admin = node.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var (jobId, gate) = await admin.SubmitAtGateAsync();
        await RefuseAsync("OLD.status = 'running' AND NEW.status <> 'running'");

        var stopping = node.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var stopped = Task.Run(node.Dispose); // its drain waits for the running job
        await Task.Delay(TimeSpan.FromSeconds(10), stopping).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Assert.That(stopping.IsCancellationRequested, Is.True, "the stop has begun");
        GateTool.Open(gate); // the tool ends during the drain
        await RefusedAtLeastAsync(2);
        await AllowAsync();
        await stopped.WaitAsync(TimeSpan.FromSeconds(30));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT status FROM jobs WHERE job_id = $1", connection);
        command.Parameters.Add(new() { Value = jobId });
        Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("completed"));
    }

    /// <summary>
    /// A run whose forced cancel was stored first writes the tokens its tool had reported after it, for reporting only:
    /// a database that refuses them holds the run's worker a few seconds, not through the whole outage, and their loss
    /// is logged once.
    /// </summary>
    [Test]
    public async Task ForcedCancel_WhoseRunsTokensTheDatabaseRefuses_FreesTheWorkerWithoutThem()
    {
        var logs = new CapturedLogs();
        using var node = app.WithWebHostBuilder(web => web.ConfigureLogging(logging => logging.AddProvider(logs)));
        using var admin = node.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var jobId = await admin.SubmitAsync("test_spend", new { input_tokens = 120, output_tokens = 30, duration_ms = 60_000 });
        await admin.WaitForJobAsync(jobId, j => j.Str("status") == "running" && j["progress"]?["current_step"]?.GetValue<string>() == "spent");
        await RefuseAsync("OLD.status = 'canceled' AND NEW.tokens_input <> OLD.tokens_input");

        Assert.That((await admin.DeleteAsync($"/jobs/{jobId}?force=true")).StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        await RefusedAtLeastAsync(2);
        var running = node.Services.GetRequiredService<RunningJobs>();
        var waited = Stopwatch.StartNew();
        while (running.Count > 0 && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }

        Assert.That(running.Count, Is.Zero, "the run's worker went on while the database still refused its tokens");
        Assert.That(logs.At(LogLevel.Warning).Where(l => l.Contains(jobId) && l.Contains("tokens its tool had reported were not stored")), Has.Exactly(1).Items);
    }

    [Test]
    public async Task Job_WhoseEndFreesASlot_TheDatabaseCannotHandOver_EndsSucceeded_AndTheParkedJobRunsAtASweep()
    {
        using var client = app.CreateClient((await app.CreateKeyAsync(plan: "free")).ApiKey); // one job at once
        await RefuseAsync("OLD.parked AND NOT NEW.parked");

        var first = await client.SubmitAsync("wait", new { duration_ms = 300 });
        var parked = await client.SubmitAsync("echo", new { message = "parked" });
        Assert.That((await client.WaitForFinalAsync(first)).Str("status"), Is.EqualTo("completed"));
        await RefusedAtLeastAsync(1);

        Assert.That(await FinalHangfireStateAsync(first), Is.EqualTo(SucceededState.StateName), "a completed run is not failed for the hand-over after it");
        Assert.That((await client.GetJobAsync(parked)).Str("status"), Is.EqualTo("queued"));
        await AllowAsync();
        var job = await client.WaitForFinalAsync(parked, TimeSpan.FromSeconds(15));
        Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
    }

    [Test]
    public async Task ForcedCancel_WhoseFreedSlotTheDatabaseCannotHandOver_Answers200()
    {
        using var client = app.CreateClient((await app.CreateKeyAsync(plan: "free")).ApiKey);
        var running = await client.SubmitAsync("wait", new { duration_ms = 30_000 });
        await client.WaitForStatusAsync(running, "running");
        var parked = await client.SubmitAsync("echo", new { message = "parked" });
        await RefuseAsync("OLD.parked AND NOT NEW.parked");

        var cancel = await client.DeleteAsync($"/jobs/{running}?force=true");
        var body = await cancel.ReadObjectAsync();
        var refused = await RefusalsAsync();

        Assert.Multiple(() =>
        {
            Assert.That(cancel.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), body.ToJsonString());
            Assert.That(body.Str("status"), Is.EqualTo("canceled"));
            Assert.That(refused, Is.GreaterThanOrEqualTo(1), "the hand-over was tried");
        });
        await AllowAsync();
        Assert.That((await client.WaitForFinalAsync(parked, TimeSpan.FromSeconds(15))).Str("status"), Is.EqualTo("completed"));
    }

    [Test]
    public async Task ForcedCancel_WhoseHangfireJobCannotBeToldForAMoment_Answers200_AndStopsTheToolHere()
    {
        var hangfire = new FailingHangfireClient();
        using var node = app.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.Decorate(hangfire)));
        using var client = node.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var running = await client.SubmitAsync("wait", new { duration_ms = 30_000 });
        await client.WaitForStatusAsync(running, "running");

        hangfire.FailNextCancel();
        var cancel = await client.DeleteAsync($"/jobs/{running}?force=true");
        var body = await cancel.ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(hangfire.Failed, Is.EqualTo(1), "moving its Hangfire job to Canceled failed");
            Assert.That(cancel.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK), "the cancel was stored: " + body.ToJsonString());
            Assert.That(body.Str("status"), Is.EqualTo("canceled"));
        });
        var hangfireId = await node.HangfireIdAsync(running);
        var monitoring = node.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var waited = Stopwatch.StartNew();
        while (monitoring.JobDetails(hangfireId)?.History.OrderBy(h => h.CreatedAt).LastOrDefault()?.StateName == ProcessingState.StateName
            && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }
        Assert.That(waited.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "the tool on this node stopped at once, not after its 30 s");
        Assert.That((await client.GetJobAsync(running)).Str("status"), Is.EqualTo("canceled"));
    }

    [Test]
    public async Task Job_WhoseStateLockADeadNodeLeft_RunsAfterTheInvisibilityTimeout_NotTheLibrarysTenMinutes()
    {
        var settings = await ServerTest.PostgreSqlSettingsAsync();
        var shared = settings["ConnectionStrings:AgentCorex"]!;
        settings["Jobs:InvisibilityTimeout"] = "00:00:02";
        settings["Jobs:WorkerCount"] = "0"; // an API node: the job waits in Hangfire's queue
        using var api = new AgentCorexApp(settings);
        using var admin = api.CreateAdminClient();
        var jobId = await admin.SubmitAsync("echo", new { message = "behind a dead node's lock" });
        var hangfireId = api.Services.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedJobs("default", 0, 10).Single().Key;
        // What a node killed while changing the job's state leaves behind.
        await using (var connection = new NpgsqlConnection(shared))
        {
            await connection.OpenAsync();
            await using var stale = new NpgsqlCommand("INSERT INTO hangfire.lock (resource, updatecount, acquired) VALUES (@resource, 0, now() at time zone 'utc' - interval '5 seconds')", connection);
            stale.Parameters.AddWithValue("resource", $"hangfire:job:{hangfireId}:state-lock");
            Assert.That(await stale.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }

        settings["Jobs:WorkerCount"] = "1";
        using var worker = new AgentCorexApp(settings);
        using var _ = worker.CreateClient();

        var job = await admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(20));
        Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
    }

    /// <summary>The state a job's Hangfire job ends in, once it has left Processing.</summary>
    private async Task<string?> FinalHangfireStateAsync(string jobId)
    {
        var hangfireId = await app.HangfireIdAsync(jobId);
        var monitoring = app.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var waited = Stopwatch.StartNew();
        string? state;
        while ((state = monitoring.JobDetails(hangfireId)?.History.OrderBy(h => h.CreatedAt).LastOrDefault()?.StateName) == ProcessingState.StateName
            && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }
        return state;
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
