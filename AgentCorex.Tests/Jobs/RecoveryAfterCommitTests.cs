using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// Steps that follow a change the ledger's recovery stored (a cut-off job failed) go on when the server stops at that
/// moment, as <see cref="AfterCommitTests"/>' do when a client goes away. The passes are run here, with a stop token of
/// the test's; the server's own repair pass does not run (Jobs:ReconcileInterval of an hour).
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class RecoveryAfterCommitTests(TestStorage storage) : WebhookServerTest(storage)
{
    private const string UnsafeTool = "test_side_effect"; // not safe to run twice: a cut-off run is failed SERVER_RESTARTED

    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Jobs:ReconcileInterval"] = "01:00:00",
        ["Jobs:ReconcileGrace"] = "00:00:00",
    };

    [Test]
    public async Task RepairPass_RaisesAnOrphansFailedEvent_AndHandsItsSlotOver_WhenStoppedOnceTheFailureIsStored()
    {
        var key = await App.CreateKeyAsync("free"); // one execution at once
        using var client = App.CreateClient(key.ApiKey);
        var endpoint = Receiver.NewEndpoint();
        await client.RegisterWebhookAsync(endpoint, "job.failed");
        await App.AddJobsAsync([CutOff(key.KeyId)]); // running, with no Hangfire job: its node died
        var parked = await client.SubmitAsync("echo", new { message = "behind the orphan" }); // waits for the orphan's slot

        StopOnceACutOffJobFailed((recovery, stop) => recovery.RepairOrphansAsync(stop));

        // Not left to the webhook repair sweep (Webhooks:RepairGrace, 2 minutes), nor to the next sweep of parked jobs (an hour).
        var received = await Receiver.WaitForAsync(endpoint, 1, within: TimeSpan.FromSeconds(10));
        Assert.That(received.Single().Event, Is.EqualTo("job.failed"));
        Assert.That((await client.WaitForFinalAsync(parked, TimeSpan.FromSeconds(10))).Str("status"), Is.EqualTo("completed"), "the slot it held was handed over");
    }

    [Test]
    public async Task RestartRecovery_RaisesACutOffJobsFailedEvent_WhenStoppedOnceTheFailureIsStored()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var endpoint = Receiver.NewEndpoint();
        await client.RegisterWebhookAsync(endpoint, "job.failed");
        await App.AddJobsAsync([CutOff(key.KeyId)]); // as a restart finds it

        StopOnceACutOffJobFailed((recovery, stop) => recovery.RecoverAfterRestartAsync(stop));

        var received = await Receiver.WaitForAsync(endpoint, 1, within: TimeSpan.FromSeconds(10));
        Assert.That(received.Single().Event, Is.EqualTo("job.failed"));
    }

    /// <summary>Runs <paramref name="pass"/> with a stop token that fires as the first cut-off job's failure is stored.</summary>
    private void StopOnceACutOffJobFailed(Func<JobRecovery, CancellationToken, Task> pass)
    {
        using var stop = new CancellationTokenSource();
        using var failed = new FirstMeasurement(App, "agentcorex.jobs.finished",
            tags => Equals(tags["tool"], UnsafeTool) && Equals(tags["status"], JobStatus.Failed), stop.Cancel);

        Assert.CatchAsync<OperationCanceledException>(() => pass(App.Services.GetRequiredService<JobRecovery>(), stop.Token));

        Assert.That(failed.Fired, "the server stopped once the cut-off job's failure was stored");
    }

    private static JobEntry CutOff(string keyId) => Ledger.Job(keyId, UnsafeTool, JobStatus.Running, at: DateTime.UtcNow.AddMinutes(-5));
}

/// <summary>
/// The repair pass records the Hangfire job it made for a lost job when the server stops right after making it:
/// unrecorded, the next pass could not tell that job carries it. On a second node of a server database, whose
/// Hangfire client is watched (<see cref="FailingHangfireClient"/>); no worker runs it, so nothing else records it.
/// </summary>
public sealed class LostEnqueueAfterCommitTests() : ServerTest(TestStorage.PostgreSql)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "0",
        ["Jobs:ReconcileInterval"] = "01:00:00",
        ["Jobs:QueuedRepairGrace"] = "00:00:01",
    };

    [Test]
    public async Task RepairPass_RecordsALostJobsNewHangfireJob_WhenStoppedOnceItIsMade()
    {
        var hangfire = new FailingHangfireClient();
        using var node = App.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.Decorate(hangfire)));
        var key = await App.CreateKeyAsync("pro");
        var lost = Ledger.Job(key.KeyId, "echo", JobStatus.Queued, at: DateTime.UtcNow.AddMinutes(-1)); // its node died before enqueueing it
        lost.Attempt = 0;
        await App.AddJobsAsync([lost]);
        using var stop = new CancellationTokenSource();
        hangfire.AfterNextCreate(stop.Cancel);

        await node.Services.GetRequiredService<JobRecovery>().RepairOrphansAsync(stop.Token);

        Assert.That(stop.IsCancellationRequested, "the server stopped once the new Hangfire job was made");
        await using var scope = node.Services.CreateAsyncScope();
        var recorded = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking()
            .Where(j => j.Id == lost.Id).Select(j => j.HangfireId).SingleAsync();
        Assert.That(recorded, Is.Not.Null, "the new Hangfire job is recorded");
    }
}
