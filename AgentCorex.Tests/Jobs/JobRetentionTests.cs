using System.Net;
using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// Jobs:Retention: the sweep deletes the jobs that ended longer ago than it, a batch at a time, and nothing else; the
/// ledger's readers (GET /jobs's total, GET /jobs/{id}) agree with what is left. Old rows are put straight into the
/// ledger: a real job cannot be made to end 31 days ago.
/// </summary>
public abstract class JobRetentionFixture(TestStorage storage) : ServerTest(storage)
{
    protected static readonly TimeSpan Retention = TimeSpan.FromDays(30);
    protected static readonly string[] Final = [JobStatus.Completed, JobStatus.Failed, JobStatus.Canceled, JobStatus.Timeout];

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:Retention"] = "30.00:00:00",
        // The seeded queued, running and event-pending jobs are left as they are: no repair pass or webhook sweep
        // takes them up in a test's seconds.
        ["Jobs:ReconcileInterval"] = "01:00:00",
        ["Webhooks:SweepInterval"] = "01:00:00",
    };

    protected JobRetention Sweep => App.Services.GetRequiredService<JobRetention>();

    /// <summary>A key of the test's own with <paramref name="count"/> jobs that ended a day before the retention, of each final status in turn.</summary>
    protected async Task<(CreatedKey Key, List<JobEntry> Jobs)> KeyWithExpiredJobsAsync(int count)
    {
        var key = await App.CreateKeyAsync("pro");
        var old = DateTime.UtcNow - Retention - TimeSpan.FromDays(1);
        var jobs = Enumerable.Range(0, count).Select(i => Ledger.Job(key.KeyId, "echo", Final[i % Final.Length], at: old.AddSeconds(i))).ToList();
        await App.AddJobsAsync(jobs);
        return (key, jobs);
    }

    protected async Task AssertAllDeletedAsync(CreatedKey key)
    {
        using var client = App.CreateClient(key.ApiKey);
        Assert.That(await JobIdsAsync(key.KeyId), Is.Empty);
        await AssertTotalsAsync(client, all: 0, completed: 0, failed: 0, canceled: 0, timeout: 0);
    }

    /// <summary>GET /jobs's totals for the test's key, checked against its rows, before and after PostgreSQL moves its totals' changes.</summary>
    protected async Task AssertTotalsAsync(HttpClient client, int all, int completed, int failed, int canceled, int timeout)
    {
        for (var moved = 0; moved < 2; moved++)
        {
            var totals = new[]
            {
                await TotalAsync(client), await TotalAsync(client, JobStatus.Completed), await TotalAsync(client, JobStatus.Failed),
                await TotalAsync(client, JobStatus.Canceled), await TotalAsync(client, JobStatus.Timeout),
            };
            Assert.That(totals, Is.EqualTo(new[] { all, completed, failed, canceled, timeout }), moved == 0 ? "right after the sweep" : "once the changes are moved");
            if (Storage == TestStorage.PostgreSql)
            {
                await App.Services.GetRequiredService<JobTotalsCompaction>().CompactAsync(CancellationToken.None);
            }
        }
    }

    protected static async Task<int> TotalAsync(HttpClient client, string? status = null) =>
        (await (await client.GetAsync(status is null ? "/jobs" : $"/jobs?status={status}")).ReadObjectAsync()).At("pagination.total")!.GetValue<int>();

    /// <summary>Moves the seeded final jobs' times to <paramref name="when"/>, as if they had been made and ended then.</summary>
    protected async Task EndedAtAsync(IEnumerable<string> ids, DateTime when)
    {
        var list = ids.ToList();
        await using var scope = App.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => list.Contains(j.Id)).ExecuteUpdateAsync(job => job
            .SetProperty(j => j.CreatedAt, when)
            .SetProperty(j => j.StartedAt, j => j.StartedAt == null ? null : when)
            .SetProperty(j => j.CompletedAt, when));
    }

    protected async Task<List<string>> JobIdsAsync(string keyId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.OwnerKeyId == keyId).Select(j => j.Id).ToListAsync();
    }
}

/// <summary>What the sweep does on either database.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobRetentionTests(TestStorage storage) : JobRetentionFixture(storage)
{
    [Test]
    public async Task TheSweep_DeletesTheJobsThatEndedBeforeTheRetention_AndKeepsEveryOtherJob()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var old = DateTime.UtcNow - Retention - TimeSpan.FromDays(1);
        var young = DateTime.UtcNow - Retention + TimeSpan.FromHours(1);
        // Ended within the retention while they are counted (the node sweeps at its start and every minute, too), then
        // made to have ended before it.
        var expired = Final.Select(status => Ledger.Job(key.KeyId, "echo", status)).ToList();
        var endedLate = Ledger.Job(key.KeyId, "echo", JobStatus.Completed, at: old);
        endedLate.CompletedAt = young; // created before the cut-off, ended after it
        var eventsPending = Ledger.Job(key.KeyId, "echo", JobStatus.Completed, at: old);
        eventsPending.EventsPending = 1; // the webhook sweep still has to store its deliveries
        var kept = new[]
        {
            Ledger.Job(key.KeyId, "echo", JobStatus.Failed, at: young), endedLate, eventsPending,
            Ledger.Job(key.KeyId, "echo", JobStatus.Queued, at: old), Ledger.Job(key.KeyId, "wait", JobStatus.Running, at: old),
        };
        await App.AddJobsAsync([.. expired, .. kept]);
        Assert.That(await TotalAsync(client), Is.EqualTo(9));
        await EndedAtAsync(expired.Select(j => j.Id), old);

        await Sweep.SweepAsync(CancellationToken.None);

        Assert.That(await JobIdsAsync(key.KeyId), Is.EquivalentTo(kept.Select(j => j.Id)));
        var deleted = await client.GetAsync($"/jobs/{expired[0].Id}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await deleted.ReadObjectAsync()).Str("error.code"), Is.EqualTo("JOB_NOT_FOUND"));
        Assert.That((await client.GetJobAsync(endedLate.Id)).Str("status"), Is.EqualTo(JobStatus.Completed));
        await AssertTotalsAsync(client, all: 5, completed: 2, failed: 1, canceled: 0, timeout: 0);
    }

    /// <summary>
    /// An Idempotency-Key holds as long as its job is in the ledger: a retry before the sweep is answered the job; once
    /// the sweep has deleted it, the same submit with the key makes a new job.
    /// </summary>
    [Test]
    public async Task AnIdempotencyKey_IsFreedWhenTheSweepDeletesItsJob()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var idempotencyKey = Guid.NewGuid().ToString();
        // Ended within the retention while the key is tried (the node sweeps at its start and every minute, too), then
        // made to have ended before it.
        var expired = Ledger.Job(key.KeyId, "echo", JobStatus.Completed, idempotencyKey: idempotencyKey);
        await App.AddJobsAsync([expired]);

        using var beforeSweep = await SubmitWithKeyAsync(client, idempotencyKey);
        var before = await beforeSweep.ReadObjectAsync();
        await EndedAtAsync([expired.Id], DateTime.UtcNow - Retention - TimeSpan.FromDays(1));
        await Sweep.SweepAsync(CancellationToken.None);
        using var afterSweep = await SubmitWithKeyAsync(client, idempotencyKey);
        var after = await afterSweep.ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(beforeSweep.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), before.ToJsonString());
            Assert.That(before.Str("job_id"), Is.EqualTo(expired.Id), "the key still holds");
            Assert.That(afterSweep.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), after.ToJsonString());
            Assert.That(afterSweep.Headers.Contains("Idempotent-Replayed"), Is.False, "a new job");
            Assert.That(after.Str("job_id"), Is.Not.EqualTo(expired.Id));
        });
    }

    private static Task<HttpResponseMessage> SubmitWithKeyAsync(HttpClient client, string idempotencyKey) =>
        client.SubmitWithKeyAsync(idempotencyKey, new { tool = "echo", arguments = new { message = "seeded" } });

    [Test]
    public async Task ASweep_DeletesMoreThanOneBatch()
    {
        var (key, _) = await KeyWithExpiredJobsAsync(2_500);

        await Sweep.SweepAsync(CancellationToken.None);

        await AssertAllDeletedAsync(key);
    }

    [Test]
    public async Task TwoSweepsAtOnce_DeleteEachJobOnce_WithoutFailing()
    {
        var (key, _) = await KeyWithExpiredJobsAsync(3_000);

        await Task.WhenAll(Sweep.SweepAsync(CancellationToken.None), Sweep.SweepAsync(CancellationToken.None));

        await AssertAllDeletedAsync(key);
    }
}

/// <summary>Two nodes sweeping one PostgreSQL database.</summary>
public sealed class JobRetentionOnPostgreSqlTests() : JobRetentionFixture(TestStorage.PostgreSql)
{
    /// <summary>
    /// Another node's sweep holds the rows it deletes until it commits: a sweep that waited for them would hold its own
    /// rows' locks meanwhile, and two sweeps that each held what the other wanted would deadlock.
    /// </summary>
    [Test]
    public async Task OnPostgreSql_ASweep_PassesOverTheRowsAnotherNodesSweepHolds_WithoutWaiting()
    {
        var (key, jobs) = await KeyWithExpiredJobsAsync(1_500);

        await using var scope = App.Services.CreateAsyncScope();
        var otherNode = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await using (var transaction = await otherNode.Database.BeginTransactionAsync())
        {
            var held = jobs.Take(500).Select(j => j.Id).ToList();
            Assert.That(await otherNode.Jobs.Where(j => held.Contains(j.Id)).ExecuteDeleteAsync(), Is.EqualTo(500));

            var sweep = Sweep.SweepAsync(CancellationToken.None);
            var finished = await Task.WhenAny(sweep, Task.Delay(TimeSpan.FromSeconds(10))) == sweep;
            await transaction.CommitAsync();
            await sweep;

            Assert.That(finished, Is.True, "the sweep waited for the rows another sweep held");
        }
        await AssertAllDeletedAsync(key);
    }
}

/// <summary>The embedded database's plan of the sweep's statement.</summary>
public sealed class JobRetentionOnTheEmbeddedDatabaseTests() : JobRetentionFixture(TestStorage.Embedded)
{
    [Test]
    public async Task OnTheEmbeddedDatabase_TheSweepsDeleteFindsItsRowsInAnIndex()
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + QueryPlans.Inline(JobRetention.DeleteSql, ["2026-01-01 00:00:00"]);

        var plan = await QueryPlans.ReadAsync(command);

        Assert.That(plan, Does.Contain("SEARCH jobs USING INDEX ix_jobs_status_created (status=? AND created_at<?)").And.Not.Contain("SCAN jobs"), plan);
    }
}
