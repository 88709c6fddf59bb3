using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.States;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A run whose job another node took over ends without a trace. A node that stalls longer than Jobs:InvisibilityTimeout
/// while alive (a paused VM, a long GC pause) loses its running job: another node's worker fetches it, moves its Hangfire
/// job to Processing on its own server and starts a newer attempt in the ledger. When the stalled node wakes, its run must
/// change nothing: not the ledger (no cancel of the newer attempt), not the Hangfire job (the other node's now), no event.
/// Made without a real pause: while a job runs on this node, the ledger and Hangfire are made to look as the other node
/// leaves them, and this node's worker is told by Hangfire's cancellation check (every Jobs:CancellationCheckInterval).
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class TakeoverTests(TestStorage storage) : TakeoverTest(storage, new() { ["Jobs:CancellationCheckInterval"] = "00:00:00.100" })
{
    [Test]
    public async Task RunWhoseJobWasTakenOver_EndsQuietly_WhenItsTokenIsAborted()
    {
        var run = await StartRunAsync(new { duration_ms = 60_000 });

        await TakeOverAsync(run);

        await AssertEndedQuietlyAsync(run);
    }

    /// <summary>
    /// Its tool ends while the ledger already holds the newer attempt: the end the ledger refused is no cancel either.
    /// On the embedded default the worker goes on before the end is stored, and what follows it must not make the
    /// Hangfire job Canceled; on a server database the worker waits for it, and leaves the Hangfire job as it is.
    /// </summary>
    [Test]
    public async Task RunWhoseLedgerHoldsANewerAttempt_DoesNotCancelTheHangfireJob_WhenItsToolEnds()
    {
        var run = await StartRunAsync(new { duration_ms = 1_000 });

        await StartNewerAttemptAsync(run);

        await AssertEndedQuietlyAsync(run, hangfireTakenOver: false);
    }
}

/// <summary>
/// The same when something else than Hangfire's cancellation check (made rare here) ends the stalled run first. Only on a
/// server database, where other nodes exist (Hangfire.InMemory has no invisibility timeout: it never hands a running job
/// to another worker by itself).
/// </summary>
[TestFixture(TestStorage.PostgreSql)]
public sealed class TakeoverAtTheEndTests(TestStorage storage) : TakeoverTest(storage, new()
{
    ["Jobs:CancellationCheckInterval"] = "00:01:00",
    // A heartbeat that soon finds its server removed; no server is taken for dead by the check meanwhile.
    ["Jobs:ServerHeartbeatInterval"] = "00:00:01",
    ["Jobs:ServerTimeout"] = "00:00:30",
    ["Jobs:ServerCheckInterval"] = "00:00:30",
})
{
    /// <summary>
    /// Its tool ends: the end, refused by the ledger (another attempt runs), is no cancel of the job. The worker waits
    /// for the end to be stored before it goes on here, which is when a takeover can still be told apart.
    /// </summary>
    [Test]
    public async Task RunWhoseJobWasTakenOver_EndsQuietly_WhenItsToolEndsFirst()
    {
        var run = await StartRunAsync(new { duration_ms = 2_000 });

        await TakeOverAsync(run);

        await AssertEndedQuietlyAsync(run);
    }

    /// <summary>
    /// The stall also outlasted Jobs:ServerTimeout: another node removed this node's Hangfire server, which restarts in
    /// place as it wakes and cuts its run off. The ledger refuses the cut-off (another attempt runs), and the run must
    /// not hand its fetch of the job back to the queue, for the restarted server to start yet another attempt.
    /// </summary>
    [Test]
    public async Task RunWhoseJobWasTakenOver_EndsQuietly_WhenItsServerRestartsInPlace()
    {
        var run = await StartRunAsync(new { duration_ms = 60_000 });

        await TakeOverAsync(run);
        await RemoveServersAsync();

        await AssertEndedQuietlyAsync(run);
        Assert.That(LogLines, Has.Some.Contain("restarting"), "the server restarted in place");
    }
}

/// <summary>A server with one worker, its log captured, and a webhook receiver to count a job's events.</summary>
public abstract class TakeoverTest(TestStorage storage, Dictionary<string, string?> serverSettings)
{
    /// <summary>The Hangfire server of the node that took the job over.</summary>
    private const string OtherServer = "other-node:4242:6d1b6a4e-0d3c-4f4e-9a52-3c2f5d1e7a10";

    private readonly CapturedLogs logs = new();
    private AgentCorexApp app = null!;
    private WebApplicationFactory<Program> logged = null!;
    private WebhookReceiver receiver = null!;

    protected sealed record Run(HttpClient Client, string JobId, string HangfireId, string WebhookId);

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var settings = new Dictionary<string, string?>(serverSettings)
        {
            // One worker: once a later job has run, this run has ended, and so has what Hangfire's worker does after it.
            ["Jobs:WorkerCount"] = "1",
            ["Jobs:ReconcileInterval"] = "01:00:00",
            ["Network:AllowPrivateTargets"] = "true",
        };
        if (storage == TestStorage.PostgreSql)
        {
            foreach (var (key, value) in await ServerTest.PostgreSqlSettingsAsync())
            {
                settings[key] = value;
            }
        }
        receiver = await WebhookReceiver.StartAsync();
        app = new AgentCorexApp(settings);
        logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        logged.Dispose();
        app.Dispose();
        await receiver.DisposeAsync();
    }

    /// <summary>A <c>wait</c> job of a key of its own, with a webhook for all its events, running on this node.</summary>
    protected async Task<Run> StartRunAsync(object arguments)
    {
        using var admin = ClientOf(AgentCorexApp.AdminKey);
        var key = await AgentCorexApp.CreateKeyAsync(admin, plan: "pro");
        var client = ClientOf(key.ApiKey);
        var webhook = (await client.RegisterWebhookAsync(receiver.NewEndpoint())).Str("webhook_id")!;
        var jobId = await client.SubmitAsync("wait", arguments);
        await client.WaitForStatusAsync(jobId, "running");
        return new Run(client, jobId, await logged.HangfireIdAsync(jobId), webhook);
    }

    /// <summary>As the other node's worker leaves the job: its Hangfire job Processing on its server, a newer attempt started.</summary>
    protected async Task TakeOverAsync(Run run)
    {
        await StartNewerAttemptAsync(run);
        var moved = logged.Services.GetRequiredService<IBackgroundJobClient>().ChangeState(run.HangfireId, new OtherWorkersProcessing(), ProcessingState.StateName);
        Assert.That(moved, Is.True, "the Hangfire job was Processing here");
    }

    protected async Task StartNewerAttemptAsync(Run run)
    {
        await using var scope = logged.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.Id == run.JobId)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Attempt, j => j.Attempt + 1).SetProperty(j => j.StartedAt, DateTime.UtcNow));
    }

    protected IReadOnlyCollection<string> LogLines => logs.Lines;

    /// <summary>Removes this node's Hangfire servers, as another node's check does with servers it takes for dead.</summary>
    protected async Task RemoveServersAsync()
    {
        await using var scope = logged.Services.CreateAsyncScope();
        var removed = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.ExecuteSqlRawAsync("DELETE FROM hangfire.server");
        Assert.That(removed, Is.EqualTo(2), "its tools' and its webhooks' servers");
    }

    /// <param name="hangfireTakenOver">Whether the Hangfire job was made the other node's (else it was left this run's).</param>
    protected async Task AssertEndedQuietlyAsync(Run run, bool hangfireTakenOver = true)
    {
        // This node's only worker runs a later job once the taken-over run has ended.
        var later = await run.Client.SubmitAsync("echo", new { message = "after the takeover" });
        Assert.That((await run.Client.WaitForFinalAsync(later, TimeSpan.FromSeconds(15))).Str("status"), Is.EqualTo("completed"));

        JobEntry row;
        await using (var scope = logged.Services.CreateAsyncScope())
        {
            row = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking().SingleAsync(j => j.Id == run.JobId);
        }
        using var connection = logged.Services.GetRequiredService<JobStorage>().GetConnection();
        var state = connection.GetStateData(run.HangfireId);
        var deliveries = await run.Client.WaitForDeliveriesAsync(run.WebhookId, d => d.Any(x => x.Str("event") == "job.completed"));
        var events = deliveries.Select(d => d.Str("event")).ToList();

        Assert.Multiple(() =>
        {
            Assert.That((row.Status, row.Attempt, row.CompletedAt), Is.EqualTo((JobStatus.Running, 2, (DateTime?)null)), "the ledger keeps the newer attempt running");
            if (hangfireTakenOver)
            {
                Assert.That(state.Name, Is.EqualTo(ProcessingState.StateName), "the Hangfire job stays the other node's");
                Assert.That(state.Data.TryGetValue("ServerId", out var server) ? server : null, Is.EqualTo(OtherServer));
            }
            else
            {
                Assert.That(state.Name, Is.Not.EqualTo(CanceledState.StateName), "nobody canceled it");
            }
            Assert.That(events.Count(e => e == "job.started"), Is.EqualTo(2), "the run's start and the later job's, no second one of the run");
            Assert.That(events, Has.None.EqualTo("job.canceled").And.None.EqualTo("job.failed"));
            Assert.That(events.Count(e => e == "job.completed"), Is.EqualTo(1), "the later job's");
            Assert.That(logs.At(LogLevel.Information), Has.Some.Contain($"Job {run.JobId} was taken over by a newer attempt"));
        });
        run.Client.Dispose();
    }

    private HttpClient ClientOf(string apiKey)
    {
        var client = logged.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }

    /// <summary>Hangfire's Processing state as another node's worker writes it (Hangfire's own has no public constructor).</summary>
    private sealed class OtherWorkersProcessing : IState
    {
        public string Name => ProcessingState.StateName;

        public string Reason => "Taken over by another node's worker";

        public bool IsFinal => false;

        public bool IgnoreJobLoadException => false;

        public Dictionary<string, string> SerializeData() => new()
        {
            ["StartedAt"] = Hangfire.Common.JobHelper.SerializeDateTime(DateTime.UtcNow),
            ["ServerId"] = OtherServer,
            ["WorkerId"] = "3f0e8b52-9c1d-4a8e-b7f4-2d6c5a9e0b13",
        };
    }
}
