using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>The embedded database's job_totals: filled from the ledger by its migration, and read without scanning jobs.</summary>
public sealed class EmbeddedJobTotalsTests() : ServerTest(TestStorage.Embedded)
{
    [Test]
    public async Task TheMigration_CountsTheFinishedJobsAlreadyInTheLedger()
    {
        using var folder = TempFolder.Create("agentcorex-totals-");
        await using var old = await OldDatabase.MigratedToAsync(folder, "20261130040033_ListingIndexes"); // the schema before job_totals
        old.Db.Jobs.AddRange(
            Ledger.Job("key_old", "echo", JobStatus.Completed), Ledger.Job("key_old", "echo", JobStatus.Completed),
            Ledger.Job("key_old", "fail", JobStatus.Failed), Ledger.Job("key_old", "echo", JobStatus.Running),
            Ledger.Job("key_old", "echo", JobStatus.Queued), Ledger.Job("key_other", "echo", JobStatus.Canceled));
        await old.Db.SaveChangesAsync();

        await old.MigrateTheRestAsync();
        var rows = await old.Db.TextAsync("SELECT owner_key_id || ' ' || tool || ' ' || status || ' ' || jobs FROM job_totals ORDER BY 1");

        Assert.That(rows, Is.EqualTo(new[] { "key_old echo completed 2", "key_old fail failed 1", "key_other echo canceled 1" }));
    }

    /// <summary>
    /// The embedded database's total: finished jobs summed from job_totals by its key, the queued and running ones
    /// counted in a status index. Never a scan of the jobs table, nor of a tool's rows.
    /// </summary>
    [TestCase(false, null, null)]
    [TestCase(false, JobStatus.Running, null)]
    [TestCase(false, JobStatus.Failed, null)]
    [TestCase(false, null, "echo")]
    [TestCase(false, JobStatus.Queued, "echo")]
    [TestCase(true, null, null)]
    [TestCase(true, null, "echo")]
    [TestCase(true, JobStatus.Queued, "echo")]
    public async Task EachFiltersTotal_IsReadFromTheTotalsAndAStatusIndex(bool admin, string? status, string? tool)
    {
        var caller = admin ? ApiKeyIdentity.ConfiguredAdmin : new ApiKeyIdentity("key_planowner01", "plan owner", "free", IsAdmin: false);
        var (sql, values) = JobTotals.Sql(caller, new JobListQuery { Status = status, Tool = tool }, embedded: true);

        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + QueryPlans.Inline(sql, values);
        var plan = await QueryPlans.ReadAsync(command);

        Assert.That(plan, Does.Not.Contain("SCAN jobs").And.Not.Contain("tool_created"), plan);
        if (status is null or JobStatus.Queued or JobStatus.Running)
        {
            Assert.That(plan, Does.Contain(admin ? "COVERING INDEX ix_jobs_status_created" : "COVERING INDEX ix_jobs_owner_status_created"), plan);
        }
        if (status is not (JobStatus.Queued or JobStatus.Running) && !admin)
        {
            Assert.That(plan, Does.Contain("SEARCH job_totals USING PRIMARY KEY"), plan);
        }
    }
}
