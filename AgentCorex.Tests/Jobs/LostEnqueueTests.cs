using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A job stored but never handed to Hangfire (its node died between the two) is not lost and does not hold its
/// key's slot for good: the repair pass enqueues it again, and a job with two Hangfire jobs runs once. The pass
/// runs every 200 ms here and repairs jobs queued for more than 1 s.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class LostEnqueueTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:ReconcileInterval"] = "00:00:00.200",
        ["Jobs:QueuedRepairGrace"] = "00:00:01",
    };

    [Test]
    public async Task QueuedJob_WithNoHangfireJob_Runs_AndFreesItsKeysSlot()
    {
        var key = await App.CreateKeyAsync(plan: "free"); // one execution at once
        using var client = App.CreateClient(key.ApiKey);
        var lost = new JobEntry
        {
            Id = "job_lost" + Guid.NewGuid().ToString("N")[..8],
            OwnerKeyId = key.KeyId,
            Tool = "echo",
            Arguments = """{"message":"found again"}""",
            Status = JobStatus.Queued,
            TimeoutMs = 30_000,
            CreatedAt = DateTime.UtcNow.AddMinutes(-1),
        };
        await App.AddJobsAsync([lost]);

        // It holds the key's one slot, so this one waits for it.
        var next = await client.SubmitAsync("echo", new { message = "after it" });

        var found = await client.WaitForFinalAsync(lost.Id);
        Assert.That(found.Str("status"), Is.EqualTo("completed"));
        Assert.That(found.Str("result.message"), Is.EqualTo("found again"));
        Assert.That((await client.WaitForFinalAsync(next)).Str("status"), Is.EqualTo("completed"), "the slot it held was freed");
        Assert.That(await AttemptOfAsync(lost.Id), Is.EqualTo(1));
    }

    [Test]
    public async Task Job_WithTwoHangfireJobs_RunsOnce()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        using var client = App.CreateClient(key.ApiKey);
        var jobId = await client.SubmitAsync("wait", new { duration_ms = 1000 });
        await client.WaitForJobAsync(jobId, j => j.Str("status") == "running");

        // As the repair pass makes when the first Hangfire job was only late, not lost.
        var (second, first) = await EnqueueSecondAsync(jobId);
        await App.WaitForHangfireJobsAsync([second], "Deleted");

        var ended = await client.WaitForFinalAsync(jobId);
        Assert.That(ended.Str("status"), Is.EqualTo("completed"));
        Assert.That(await AttemptOfAsync(jobId), Is.EqualTo(1), "the second Hangfire job left the first one's run alone");
        Assert.That(ReasonOf(second), Does.Contain($"Hangfire job {first} carries ("), "the dashboard says why it ran nothing");
        await App.WaitForHangfireJobsAsync([first], "Succeeded");
    }

    [TestCase("echo", "completed")]
    [TestCase("fail", "failed")]
    public async Task SecondHangfireJob_ForAJobThatHasEnded_IsDeleted_NotCountedAgain(string tool, string status)
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync(tool, new { message = "once" });
        Assert.That((await client.WaitForFinalAsync(jobId)).Str("status"), Is.EqualTo(status));

        var (second, first) = await EnqueueSecondAsync(jobId);
        await App.WaitForHangfireJobsAsync([second], "Deleted");

        Assert.That(ReasonOf(second), Does.Contain($"Hangfire job {first} carries ({status})"));
        Assert.That((await client.GetJobAsync(jobId)).Str("status"), Is.EqualTo(status), "the ledger job is left as it ended");
        Assert.That(await AttemptOfAsync(jobId), Is.EqualTo(1));
    }

    /// <summary>A second Hangfire job for the ledger job, as the repair pass makes; and the Hangfire job that carries it.</summary>
    private async Task<(string Second, string First)> EnqueueSecondAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var job = await scope.ServiceProvider.GetRequiredService<JobLedger>().FindAsync(jobId, CancellationToken.None);
        return (JobSubmitter.Enqueue(App.Services.GetRequiredService<IBackgroundJobClient>(), job!), job!.HangfireId!);
    }

    private string? ReasonOf(string hangfireId) =>
        App.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(hangfireId).History.First().Reason;

    private async Task<int> AttemptOfAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.Id == jobId).Select(j => j.Attempt).SingleAsync();
    }
}

/// <summary>
/// A queue deeper than the grace is not a loss: with no worker to drain it, jobs waiting in Hangfire's queue get
/// no second Hangfire job, and only as many jobs as Hangfire cannot account for are enqueued again.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class LostEnqueueBacklogTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "0",
        ["Jobs:ReconcileInterval"] = "00:00:00.100",
        ["Jobs:QueuedRepairGrace"] = "00:00:01",
    };

    [Test]
    public async Task OnlyWhatHangfireCannotAccountFor_IsEnqueuedAgain()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        var jobs = Enumerable.Range(0, 3).Select(i => new JobEntry
        {
            Id = $"job_backlog{i}" + Guid.NewGuid().ToString("N")[..6],
            OwnerKeyId = key.KeyId,
            Tool = "echo",
            Arguments = """{"message":"waiting"}""",
            Status = JobStatus.Queued,
            TimeoutMs = 30_000,
            CreatedAt = DateTime.UtcNow.AddMinutes(-5).AddSeconds(i),
        }).ToList();
        var monitoring = App.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var before = monitoring.EnqueuedCount("default");
        // Two of them wait in Hangfire's queue; the third was lost before it got there. (Enqueued first, so that
        // no pass sees the ledger's three before Hangfire has its two.)
        var hangfire = App.Services.GetRequiredService<IBackgroundJobClient>();
        JobSubmitter.Enqueue(hangfire, jobs[0]);
        JobSubmitter.Enqueue(hangfire, jobs[1]);
        await App.AddJobsAsync(jobs);

        await Task.Delay(TimeSpan.FromSeconds(1.5)); // many passes

        Assert.That(monitoring.EnqueuedCount("default") - before, Is.EqualTo(3), "one job enqueued again, not one per waiting job nor per pass");
    }
}

/// <summary>
/// What Hangfire is running accounts for no lost job, but the runs it is starting: the count compared the ledger's
/// queued jobs with Hangfire's queue plus everything in Processing, which holds the runs of jobs already running and
/// the webhook deliveries being sent, so a lost job stayed hidden (and held its key's slot) while any of them lasted.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class LostEnqueueBehindRunsTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:ReconcileInterval"] = "00:00:00.200",
        ["Jobs:QueuedRepairGrace"] = "00:00:01",
        ["Webhooks:AttemptTimeout"] = "00:01:00",
        ["Network:AllowPrivateTargets"] = "true", // the dead receiver is on loopback
    };

    [Test]
    public async Task ALostJob_IsEnqueuedAgain_WhileAnotherJobRuns()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        using var client = App.CreateClient(key.ApiKey);
        var running = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
        await client.WaitForStatusAsync(running, "running");

        await LostJobRunsAsync(client, key.KeyId);
        using var canceled = await client.DeleteAsync($"/jobs/{running}?force=true"); // frees its worker for the fixture's other tests
        Assert.That(canceled.IsSuccessStatusCode, Is.True, "the running job was canceled");
    }

    [Test]
    public async Task ALostJob_IsEnqueuedAgain_WhileAWebhookDeliveryHangs()
    {
        using var silent = SilentReceiver.Start();
        var key = await App.CreateKeyAsync(plan: "pro");
        using var client = App.CreateClient(key.ApiKey);
        await client.RegisterWebhookAsync(silent.Url("hooks/dead"), "job.queued");
        var since = DateTime.UtcNow;
        await client.SubmitAsync("echo", new { message = "its event is never answered" });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (silent.AcceptedSince(since) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.That(silent.AcceptedSince(since), Is.GreaterThan(0), "the delivery is being sent, and hangs");

        await LostJobRunsAsync(client, key.KeyId);
    }

    /// <summary>A job of the client's key stored but never handed to Hangfire runs, enqueued again by the repair pass.</summary>
    private async Task LostJobRunsAsync(HttpClient client, string keyId)
    {
        var lost = Ledger.Job(keyId, "echo", JobStatus.Queued, at: DateTime.UtcNow.AddMinutes(-1));
        await App.AddJobsAsync([lost]);

        Assert.That((await client.WaitForFinalAsync(lost.Id)).Str("status"), Is.EqualTo("completed"));
    }
}
