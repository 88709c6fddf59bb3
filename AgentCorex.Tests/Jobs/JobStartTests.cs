using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>The ledger's start in one statement: a queued job starts and comes back as the run needs it; nothing else does.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobStartTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "0" };

    [Test]
    public async Task QueuedJob_Starts_AsItsNextAttempt_AndComesBack()
    {
        var key = await App.CreateKeyAsync();
        var job = Ledger.Job(key.KeyId, "echo", JobStatus.Queued, at: DateTime.UtcNow.AddSeconds(-5));
        job.Attempt = 2; // interrupted twice before, and back in the queue
        await App.AddJobsAsync([job]);

        var started = await StartAsync(job.Id, "hf-1", JobEventNames.Bit(JobEventNames.Started));
        var again = await StartAsync(job.Id, "hf-2", 0);

        Assert.That(started, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(started!.Id, Is.EqualTo(job.Id));
            Assert.That(started.OwnerKeyId, Is.EqualTo(key.KeyId));
            Assert.That(started.Tool, Is.EqualTo("echo"));
            Assert.That(started.Arguments, Is.EqualTo(job.Arguments));
            Assert.That(started.TimeoutMs, Is.EqualTo(job.TimeoutMs));
            Assert.That(started.Status, Is.EqualTo(JobStatus.Running));
            Assert.That(started.Attempt, Is.EqualTo(3));
            Assert.That(started.HangfireId, Is.EqualTo("hf-1"));
            Assert.That(started.CreatedAt, Is.EqualTo(job.CreatedAt).Within(TimeSpan.FromMilliseconds(1)));
            Assert.That(started.StartedAt, Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(started.EventsPending, Is.EqualTo(JobEventNames.Bit(JobEventNames.Started)));
            Assert.That(again, Is.Null, "a running job does not start twice");
        });
        var stored = await FindAsync(job.Id);
        Assert.Multiple(() =>
        {
            Assert.That(stored!.Status, Is.EqualTo(JobStatus.Running));
            Assert.That(stored.Attempt, Is.EqualTo(3));
            Assert.That(stored.HangfireId, Is.EqualTo("hf-1"));
            Assert.That(stored.EventsPending, Is.EqualTo(JobEventNames.Bit(JobEventNames.Started)));
        });
    }

    [Test]
    public async Task Job_OfARevokedKey_OrNotQueued_DoesNotStart()
    {
        var revoked = await App.CreateKeyAsync();
        var live = await App.CreateKeyAsync();
        var ofRevoked = Ledger.Job(revoked.KeyId, "echo", JobStatus.Queued);
        var canceled = Ledger.Job(live.KeyId, "echo", JobStatus.Canceled);
        Assert.That((await Admin.DeleteAsync($"/api_keys/{revoked.KeyId}")).IsSuccessStatusCode, Is.True);
        // Stored after the revocation, as by a node that had not heard of it yet.
        await App.AddJobsAsync([ofRevoked, canceled]);

        Assert.That(await StartAsync(ofRevoked.Id, "hf-3", 0), Is.Null);
        Assert.That(await StartAsync(canceled.Id, "hf-4", 0), Is.Null);
        Assert.That(await StartAsync("job_nonexistent0", "hf-5", 0), Is.Null);
        Assert.That((await FindAsync(ofRevoked.Id))!.Status, Is.EqualTo(JobStatus.Queued));
        Assert.That((await FindAsync(canceled.Id))!.Status, Is.EqualTo(JobStatus.Canceled));
    }

    private async Task<JobEntry?> StartAsync(string jobId, string hangfireId, int raises)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobLedger>().TryStartQueuedAsync(jobId, hangfireId, raises, CancellationToken.None);
    }

    private async Task<JobEntry?> FindAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobLedger>().FindAsync(jobId, CancellationToken.None);
    }
}
