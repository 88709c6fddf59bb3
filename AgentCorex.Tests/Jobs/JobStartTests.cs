using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using AgentCorex.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// The ledger's start in one statement: a queued job starts and comes back as the run needs it; nothing else does.
/// And its hot reads, in plain SQL on the embedded database, agree with EF Core's.
/// </summary>
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

    [Test]
    public async Task Ledger_ReadsAJob_AsEfCoreDoes_EveryField()
    {
        var key = await App.CreateKeyAsync();
        var failed = Ledger.Job(key.KeyId, "fail", JobStatus.Failed, executionTimeMs: 42, at: DateTime.UtcNow.AddMinutes(-3), errorMessage: "it broke");
        failed.HangfireId = "hf-read";
        failed.Attempt = 2;
        failed.Result = """{"partial":true}""";
        failed.ErrorCode = "EXECUTION_ERROR";
        failed.ErrorDetails = """{"tool_code":"BROKE"}""";
        failed.TokensInput = 7;
        failed.TokensOutput = 9;
        failed.EventsPending = 5;
        var parked = Ledger.Job(key.KeyId, "echo", JobStatus.Queued);
        parked.Parked = true;
        await App.AddJobsAsync([failed, parked]);

        foreach (var job in new[] { failed, parked })
        {
            await using var scope = App.Services.CreateAsyncScope();
            var read = await scope.ServiceProvider.GetRequiredService<JobLedger>().FindAsync(job.Id, CancellationToken.None);
            var byEf = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking().SingleAsync(j => j.Id == job.Id);
            Assert.That(read, Is.Not.Null);
            foreach (var property in typeof(JobEntry).GetProperties())
            {
                Assert.That(property.GetValue(read), Is.EqualTo(property.GetValue(byEf)), $"{job.Status} job's {property.Name}");
            }
        }
        Assert.That(await FindAsync("job_nonexistent0"), Is.Null);
    }

    [Test]
    public async Task PositionInQueue_CountsOlderQueuedJobs_LeavingOutOtherKeysParkedOnes()
    {
        var mine = await App.CreateKeyAsync();
        var other = await App.CreateKeyAsync();
        var at = DateTime.UtcNow.AddMinutes(-10);
        var olderOfOther = Ledger.Job(other.KeyId, "echo", JobStatus.Queued, at: at);
        var parkedOfOther = Ledger.Job(other.KeyId, "echo", JobStatus.Queued, at: at.AddSeconds(1));
        parkedOfOther.Parked = true;
        var parkedOfMine = Ledger.Job(mine.KeyId, "echo", JobStatus.Queued, at: at.AddSeconds(2));
        parkedOfMine.Parked = true;
        var finished = Ledger.Job(other.KeyId, "echo", JobStatus.Completed, at: at.AddSeconds(3));
        JobEntry[] sameInstant = [.. new[] { Ledger.Job(mine.KeyId, "echo", JobStatus.Queued, at: at.AddSeconds(4)), Ledger.Job(mine.KeyId, "echo", JobStatus.Queued, at: at.AddSeconds(4)) }
            .OrderBy(j => j.Id, StringComparer.Ordinal)];
        var newer = Ledger.Job(other.KeyId, "echo", JobStatus.Queued, at: at.AddSeconds(5));
        await App.AddJobsAsync([olderOfOther, parkedOfOther, parkedOfMine, finished, .. sameInstant, newer]);

        await using var scope = App.Services.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<JobLedger>();
        // Ahead of the later of two jobs stored at one instant: the other key's older job, my parked one, and the earlier of the two.
        Assert.That(await ledger.PositionInQueueAsync(sameInstant[1], CancellationToken.None), Is.EqualTo(4));
        Assert.That(await ledger.PositionInQueueAsync(sameInstant[0], CancellationToken.None), Is.EqualTo(3));
        Assert.That(await ledger.PositionInQueueAsync(olderOfOther, CancellationToken.None), Is.EqualTo(1));
    }

    private async Task<JobEntry?> StartAsync(string jobId, string hangfireId, int raises)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobLedger>().TryStartQueuedAsync(jobId, hangfireId, DateTime.UtcNow, raises, CancellationToken.None);
    }

    private async Task<JobEntry?> FindAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobLedger>().FindAsync(jobId, CancellationToken.None);
    }
}
