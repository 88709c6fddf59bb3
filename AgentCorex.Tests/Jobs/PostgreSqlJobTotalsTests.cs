using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// PostgreSQL's job totals: a job's end adds a row to job_total_changes, which JobTotalsCompaction moves into
/// job_totals; a total read before, during or after the move is the same. (JobTotalsTests holds every filter's
/// total to the rows on both databases.)
/// </summary>
public sealed class PostgreSqlJobTotalsTests() : ServerTest(TestStorage.PostgreSql)
{
    [Test]
    public async Task TheMigration_CountsTheFinishedJobsAlreadyInTheLedger_AndItsTriggersTheEndsAfter()
    {
        await using var old = await OldDatabase.MigratedToAsync(await PostgresCluster.RequireAsync(), "20261130040046_ListingIndexes");
        var running = Ledger.Job("key_old", "echo", JobStatus.Running);
        old.Db.Jobs.AddRange(
            Ledger.Job("key_old", "echo", JobStatus.Completed), Ledger.Job("key_old", "echo", JobStatus.Completed),
            Ledger.Job("key_old", "fail", JobStatus.Failed), running,
            Ledger.Job("key_old", "echo", JobStatus.Queued), Ledger.Job("key_other", "echo", JobStatus.Canceled));
        await old.Db.SaveChangesAsync();

        await old.MigrateTheRestAsync();
        var filled = await old.Db.TextAsync("SELECT owner_key_id || ' ' || tool || ' ' || status || ' ' || jobs FROM job_totals ORDER BY 1");
        await old.Db.Jobs.Where(j => j.Id == running.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Timeout));
        await old.Db.Jobs.Where(j => j.OwnerKeyId == "key_other").ExecuteDeleteAsync();
        var changes = await old.Db.TextAsync("SELECT owner_key_id || ' ' || tool || ' ' || status || ' ' || change FROM job_total_changes ORDER BY 1");

        Assert.That(filled, Is.EqualTo(new[] { "key_old echo completed 2", "key_old fail failed 1", "key_other echo canceled 1" }));
        Assert.That(changes, Is.EqualTo(new[] { "key_old echo timeout 1", "key_other echo canceled -1" }));
    }

    [Test]
    public async Task ATotal_IsTheSame_BeforeAndAfterItsChangesAreMoved()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var owner = new ApiKeyIdentity(key.KeyId, "totals", "pro", IsAdmin: false);
        var compaction = App.Services.GetRequiredService<JobTotalsCompaction>();
        await compaction.CompactAsync(CancellationToken.None);
        await client.WaitForFinalAsync(await client.SubmitAsync("echo", new { message = "one" }));
        await client.WaitForFinalAsync(await client.SubmitAsync("echo", new { message = "two" }));
        await client.WaitForFinalAsync(await client.SubmitAsync("fail", new { message = "three" }));

        var before = await TotalsAsync(owner);
        await compaction.CompactAsync(CancellationToken.None);
        var after = await TotalsAsync(owner);
        var left = await RowsAsync($"SELECT status FROM job_total_changes WHERE owner_key_id = '{key.KeyId}'");
        var kept = await RowsAsync($"SELECT tool || ' ' || status || ' ' || jobs FROM job_totals WHERE owner_key_id = '{key.KeyId}' ORDER BY 1");

        Assert.That(before, Is.EqualTo((3, 2, 1)));
        Assert.That(after, Is.EqualTo(before));
        Assert.That(left, Is.Empty);
        Assert.That(kept, Is.EqualTo(new[] { "echo completed 2", "fail failed 1" }));
    }

    private async Task<(int All, int Completed, int Failed)> TotalsAsync(ApiKeyIdentity owner)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var totals = scope.ServiceProvider.GetRequiredService<JobTotals>();
        return (await totals.CountAsync(owner, new JobListQuery(), CancellationToken.None),
            await totals.CountAsync(owner, new JobListQuery { Status = JobStatus.Completed }, CancellationToken.None),
            await totals.CountAsync(owner, new JobListQuery { Status = JobStatus.Failed }, CancellationToken.None));
    }

    private async Task<List<string>> RowsAsync(string sql)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        return await db.TextAsync(sql);
    }
}
