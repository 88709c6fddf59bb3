using System.Diagnostics;
using System.Globalization;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// On the embedded database a run's worker goes on once its end is handed to the ledger, and Hangfire shows the run
/// Succeeded. An end the disk refuses is tried again after that, for as long as the outage lasts: a repair pass meanwhile
/// must not take the job, still running in the ledger, for a run cut off. The full disk is SQLite's own (SQLITE_FULL), as
/// in <see cref="Storage.FullDiskTests"/>, and only for the end: a trigger pads the table on a completed end, past the
/// writer connection's <c>max_page_count</c>, while the repair pass's small update fits. The pass is run here (the
/// server's own comes every hour).
/// </summary>
public sealed class EndInFlightTests() : ServerTest(TestStorage.Embedded)
{
    private const string UnsafeTool = "test_side_effect"; // a run taken for cut off would be failed SERVER_RESTARTED

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:ReconcileInterval"] = "01:00:00",
        ["Jobs:ReconcileGrace"] = "00:00:00",
    };

    [Test]
    public async Task RunEnd_TheDiskRefusesPastARepairPass_IsStoredOnceThereIsRoom_NotTakenForACutOffRun()
    {
        var writer = App.Services.GetRequiredService<SqliteWriter>();
        await writer.ExecuteAsync("CREATE TABLE end_padding (b BLOB)", [], CancellationToken.None);
        await writer.ExecuteAsync(
            $"CREATE TRIGGER pad_completed_end AFTER UPDATE OF status ON jobs WHEN NEW.status = 'completed' AND NEW.tool = '{UnsafeTool}' " +
            "BEGIN INSERT INTO end_padding VALUES (zeroblob(4194304)); END", [], CancellationToken.None);
        try
        {
            var jobId = await Admin.SubmitAsync(UnsafeTool, new { duration_ms = 500 });
            await Admin.WaitForStatusAsync(jobId, "running");
            await CapPagesAsync(writer, await writer.QueryFirstAsync("PRAGMA page_count", r => r.GetInt64(0), [], CancellationToken.None));
            Assert.That(await HangfireStateOnceEndedAsync(jobId), Is.EqualTo(SucceededState.StateName), "the worker went on");
            Assert.That((await Admin.GetJobAsync(jobId)).Str("status"), Is.EqualTo("running"), "its end is refused");

            await App.Services.GetRequiredService<JobRecovery>().RepairOrphansAsync(CancellationToken.None);
            await CapPagesAsync(writer, int.MaxValue);

            var job = await Admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
            Assert.Multiple(() =>
            {
                Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
                Assert.That(job.At("result.duration_ms")!.GetValue<int>(), Is.EqualTo(500));
            });
            Assert.That(await HangfireStateOnceEndedAsync(jobId), Is.EqualTo(SucceededState.StateName), "Hangfire agrees with the ledger");
        }
        finally
        {
            await CapPagesAsync(writer, int.MaxValue);
            await writer.ExecuteAsync("DROP TRIGGER pad_completed_end", [], CancellationToken.None);
            await writer.ExecuteAsync("DROP TABLE end_padding", [], CancellationToken.None);
        }
    }

    private static Task<int> CapPagesAsync(SqliteWriter writer, long pages) =>
        writer.ExecuteAsync("PRAGMA max_page_count = " + pages.ToString(CultureInfo.InvariantCulture), [], CancellationToken.None);

    /// <summary>The job's Hangfire state once it has left Processing (and Enqueued), within 10 s.</summary>
    private async Task<string?> HangfireStateOnceEndedAsync(string jobId)
    {
        var hangfireId = await App.HangfireIdAsync(jobId);
        using var connection = App.Services.GetRequiredService<JobStorage>().GetConnection();
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
