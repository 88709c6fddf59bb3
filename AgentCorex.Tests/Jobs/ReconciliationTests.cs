using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Moq;

namespace AgentCorex.Tests.Jobs;

/// <summary>The ledger never disagrees with Hangfire for long: a running job whose Hangfire job is gone gets repaired.</summary>
public sealed class ReconciliationTests
{
    [Test]
    public async Task RunningJob_WhoseHangfireJobVanished_IsRepaired()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Jobs:ReconcileInterval"] = "00:00:00.200",
            ["Jobs:ReconcileGrace"] = "00:00:00",
            ["Jobs:MaxAttempts"] = "3",
        });
        var key = await app.CreateKeyAsync();
        using var client = app.CreateClient(key.ApiKey);
        using (var scope = app.Services.CreateScope())
        {
            // As a crash between a run's end and its ledger update would leave them.
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            db.Jobs.AddRange(Orphan("job_orphanunsafe", "test_side_effect", """{"duration_ms":1}""", key.KeyId),
                Orphan("job_orphansafe01", "wait", """{"duration_ms":1}""", key.KeyId, attempt: 2),
                Orphan("job_orphanlast01", "wait", """{"duration_ms":1}""", key.KeyId, attempt: 3));
            await db.SaveChangesAsync();
        }

        var unsafeEnd = await client.WaitForFinalAsync("job_orphanunsafe");
        var safeEnd = await client.WaitForFinalAsync("job_orphansafe01");
        var lastEnd = await client.WaitForFinalAsync("job_orphanlast01");

        Assert.Multiple(() =>
        {
            Assert.That(unsafeEnd.Str("status"), Is.EqualTo("failed"));
            Assert.That(unsafeEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(safeEnd.Str("status"), Is.EqualTo("completed"), "a tool safe to retry is run again, in its second run of three");
            Assert.That(lastEnd.Str("status"), Is.EqualTo("failed"), "cut off in its third run of three (Jobs:MaxAttempts)");
            Assert.That(lastEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(lastEnd.Str("error.message"), Does.Contain("in run 3 of at most 3"));
        });
    }

    /// <summary>
    /// A running job that ends between the pass's read of the ledger and its read of Hangfire's state (Succeeded, then)
    /// is left as its run wrote it; the pass used to warn that it had repaired it all the same.
    /// </summary>
    [Test]
    public async Task RunningJob_ThatEndsAsThePassLooksAtIt_IsNotSaidToBeRepaired()
    {
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Jobs:ReconcileInterval"] = "01:00:00", // the pass below is the only one
            ["Jobs:ReconcileGrace"] = "00:00:00",
        });
        using var logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));
        using var admin = logged.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var key = await AgentCorexApp.CreateKeyAsync(admin);
        using var scope = logged.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        db.Jobs.Add(Orphan("job_endsmeanwhile", "wait", """{"duration_ms":1}""", key.KeyId));
        await db.SaveChangesAsync();
        // Hangfire's storage is the boundary: its answer comes once the run's end has reached the ledger.
        var connection = new Mock<IStorageConnection>();
        connection.Setup(c => c.GetStateData("987654321")).Returns(() =>
        {
            db.Database.ExecuteSqlRaw("UPDATE jobs SET status = 'completed', completed_at = started_at WHERE job_id = 'job_endsmeanwhile'");
            return new StateData { Name = "Succeeded" };
        });
        var storage = new Mock<JobStorage>();
        storage.Setup(s => s.GetConnection()).Returns(connection.Object);
        storage.Setup(s => s.GetMonitoringApi()).Returns(Mock.Of<IMonitoringApi>()); // nothing Processing

        await ActivatorUtilities.CreateInstance<JobRecovery>(logged.Services, storage.Object).RepairOrphansAsync(CancellationToken.None);

        connection.Verify(c => c.GetStateData("987654321"), Times.Once);
        Assert.That(logs.Lines.Where(l => l.Contains("job_endsmeanwhile") && l.Contains("repaired")), Is.Empty);
    }

    /// <summary>
    /// A job canceled in the ledger whose Hangfire job was not told, as a forced DELETE leaves it when the database goes
    /// away between its cancel and its change of the Hangfire job: the tool ran on until it ended (for ever, here), on
    /// another node, holding its worker. The pass moves the Hangfire job to Canceled, which stops the tool and frees the
    /// worker for the job behind it.
    /// </summary>
    [Test]
    public async Task CanceledJob_WhoseRunHangfireWasNotToldOf_IsStoppedByThePass()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Jobs:ReconcileInterval"] = "00:00:00.200",
            ["Jobs:ReconcileGrace"] = "00:00:00",
            ["Jobs:WorkerCount"] = "1",
        });
        using var client = app.CreateClient((await app.CreateKeyAsync("pro")).ApiKey);
        var (running, _) = await client.SubmitAtGateAsync(); // never opened: only a cancel ends it
        var behind = await client.SubmitAsync("echo", new { message = "behind" });
        using (var scope = app.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            var job = await db.Jobs.SingleAsync(j => j.Id == running);
            job.Status = JobStatus.Canceled;
            job.CompletedAt = DateTime.UtcNow;
            job.ErrorMessage = "Canceled by its owner while running";
            await db.SaveChangesAsync();
        }

        var ran = await client.WaitForFinalAsync(behind);
        using var connection = app.Services.GetRequiredService<JobStorage>().GetConnection();
        Assert.Multiple(async () =>
        {
            Assert.That(ran.Str("status"), Is.EqualTo("completed"), "the one worker was freed: " + ran.ToJsonString());
            Assert.That(connection.GetStateData(await app.HangfireIdAsync(running))?.Name, Is.EqualTo(CanceledState.StateName));
            Assert.That((await client.GetJobAsync(running)).Str("status"), Is.EqualTo("canceled"));
        });
    }

    private static JobEntry Orphan(string id, string tool, string arguments, string owner, int attempt = 1) => new()
    {
        Id = id,
        HangfireId = "987654321",
        OwnerKeyId = owner,
        Tool = tool,
        Arguments = arguments,
        Status = JobStatus.Running,
        Attempt = attempt,
        TimeoutMs = 30_000,
        CreatedAt = DateTime.UtcNow.AddMinutes(-5),
        StartedAt = DateTime.UtcNow.AddMinutes(-5),
    };
}
