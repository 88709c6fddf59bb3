using System.Diagnostics;
using System.Globalization;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.States;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// On the embedded database a run's worker goes on once its end is handed to the ledger, and Hangfire shows the run
/// Succeeded. An end the disk refuses is tried again after that, for as long as the outage lasts: a repair pass meanwhile
/// must not take the job, still running in the ledger, for a run cut off, nor a stop's drain end before it is stored.
/// The full disk is SQLite's own (SQLITE_FULL), as in <see cref="Storage.FullDiskTests"/>, and only for the end: a
/// trigger pads a table on a completed end, past the writer connection's <c>max_page_count</c>, while the repair pass's
/// small update fits. The pass is run here (the server's own comes every hour).
/// </summary>
public sealed class EndInFlightTests() : ServerTest(TestStorage.Embedded)
{
    private const string UnsafeTool = "test_gate"; // a run taken for cut off would be failed SERVER_RESTARTED

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:ReconcileInterval"] = "01:00:00",
        ["Jobs:ReconcileGrace"] = "00:00:00",
    };

    [Test]
    public async Task RunEnd_TheDiskRefusesPastARepairPass_IsStoredOnceThereIsRoom_NotTakenForACutOffRun()
    {
        var writer = App.Services.GetRequiredService<SqliteWriter>();
        await PadCompletedEndsAsync(writer);
        try
        {
            var jobId = await RunWithItsEndRefusedAsync(App, Admin, writer);

            await App.Services.GetRequiredService<JobRecovery>().RepairOrphansAsync(CancellationToken.None);
            await CapPagesAsync(writer, int.MaxValue);

            var job = await Admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
            Assert.Multiple(() =>
            {
                Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
                Assert.That(job.At("result.opened")!.GetValue<bool>(), Is.True, "the run's own result");
            });
            Assert.That(await HangfireStateOnceEndedAsync(App, jobId), Is.EqualTo(SucceededState.StateName), "Hangfire agrees with the ledger");
        }
        finally
        {
            await CapPagesAsync(writer, int.MaxValue);
            await writer.ExecuteAsync("DROP TRIGGER pad_completed_end", [], CancellationToken.None);
            await writer.ExecuteAsync("DROP TABLE end_padding", [], CancellationToken.None);
        }
    }

    /// <summary>The drain waits for the end as for a running tool, so room made meanwhile stores it (a node of its own, to stop).</summary>
    [Test]
    public async Task RunEnd_TheDiskRefusesDuringTheDrain_IsStoredOnceThereIsRoom()
    {
        var data = Directory.CreateTempSubdirectory("agentcorex-endflight-").FullName;
        try
        {
            string jobId;
            using (var node = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:ShutdownTimeout"] = "00:00:10" }, data)) // not the tests' 0.5 s
            {
                using var admin = node.CreateAdminClient();
                var writer = node.Services.GetRequiredService<SqliteWriter>();
                await PadCompletedEndsAsync(writer);
                jobId = await RunWithItsEndRefusedAsync(node, admin, writer);

                var stopped = Task.Run(node.Dispose);
                await CapPagesAsync(writer, int.MaxValue);
                await stopped.WaitAsync(TimeSpan.FromSeconds(30));
            }
            await AgentCorexApp.LetGoOfDatabaseAsync(data);
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(data, "agentcorex.db")};Pooling=False");
            await connection.OpenAsync();
            await using var command = new SqliteCommand("SELECT status FROM jobs WHERE job_id = $id", connection);
            command.Parameters.AddWithValue("$id", jobId);
            Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("completed"));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>
    /// An end the disk still refuses once the stop's last writes are over is given up on (the restart takes the job for
    /// cut off), and said so in one Warning, not as a failure with a stack trace (a node of its own, to stop, with the
    /// tests' Jobs:ShutdownTimeout of 0.5 s).
    /// </summary>
    [Test]
    public async Task RunEnd_TheDiskRefusesPastTheStopsDeadline_IsGivenUpInOneWarning()
    {
        var logs = new CapturedLogs();
        var data = Directory.CreateTempSubdirectory("agentcorex-endflight-").FullName;
        try
        {
            string jobId;
            using (var app = new AgentCorexApp(dataDirectory: data))
            using (var node = app.WithWebHostBuilder(web => web.ConfigureLogging(logging => logging.AddProvider(logs))))
            {
                using var admin = node.CreateClient();
                admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
                var writer = node.Services.GetRequiredService<SqliteWriter>();
                await PadCompletedEndsAsync(writer);
                jobId = await RunWithItsEndRefusedAsync(node, admin, writer);
            }
            var waited = Stopwatch.StartNew();
            while (!logs.Lines.Any(l => l.Contains(jobId) && l.Contains("gave up at the stop's deadline")) && waited.Elapsed < TimeSpan.FromSeconds(5))
            {
                await Task.Delay(50);
            }

            var warnings = logs.At(LogLevel.Warning).Where(l => l.Contains(jobId)).ToList();
            Assert.That(warnings.Where(l => l.Contains("gave up at the stop's deadline")), Has.Exactly(1).Items, string.Join('\n', warnings));
            Assert.That(warnings.Where(l => l.Contains("what follows its end")), Is.Empty);
        }
        finally
        {
            await AgentCorexApp.LetGoOfDatabaseAsync(data);
            Directory.Delete(data, recursive: true);
        }
    }

    /// <summary>From now on the writer's completed ends of <see cref="UnsafeTool"/> need room, that a cap on its pages can take away.</summary>
    private static async Task PadCompletedEndsAsync(SqliteWriter writer)
    {
        await writer.ExecuteAsync("CREATE TABLE end_padding (b BLOB)", [], CancellationToken.None);
        await writer.ExecuteAsync(
            $"CREATE TRIGGER pad_completed_end AFTER UPDATE OF status ON jobs WHEN NEW.status = 'completed' AND NEW.tool = '{UnsafeTool}' " +
            "BEGIN INSERT INTO end_padding VALUES (zeroblob(4194304)); END", [], CancellationToken.None);
    }

    /// <summary>
    /// A job of <see cref="UnsafeTool"/> run, its end refused (the disk full) after its worker went on. The disk is
    /// filled while the tool waits at its gate, and the tool let go once it is, however slow the machine.
    /// </summary>
    private static async Task<string> RunWithItsEndRefusedAsync(WebApplicationFactory<Program> app, HttpClient client, SqliteWriter writer)
    {
        var (jobId, gate) = await client.SubmitAtGateAsync();
        await CapPagesAsync(writer, await writer.QueryFirstAsync("PRAGMA page_count", r => r.GetInt64(0), [], CancellationToken.None));
        GateTool.Open(gate);
        Assert.That(await HangfireStateOnceEndedAsync(app, jobId), Is.EqualTo(SucceededState.StateName), "the worker went on");
        Assert.That((await client.GetJobAsync(jobId)).Str("status"), Is.EqualTo("running"), "its end is refused");
        return jobId;
    }

    private static Task<int> CapPagesAsync(SqliteWriter writer, long pages) =>
        writer.ExecuteAsync("PRAGMA max_page_count = " + pages.ToString(CultureInfo.InvariantCulture), [], CancellationToken.None);

    /// <summary>The job's Hangfire state once it has left Processing (and Enqueued), within 10 s.</summary>
    private static async Task<string?> HangfireStateOnceEndedAsync(WebApplicationFactory<Program> app, string jobId)
    {
        var hangfireId = await app.HangfireIdAsync(jobId);
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        var waited = Stopwatch.StartNew();
        string? state;
        while (((state = connection.GetStateData(hangfireId)?.Name) == ProcessingState.StateName || state == EnqueuedState.StateName)
            && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }
        return state;
    }
}
