using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// Migration KeyQueuedCounts, on each database that keeps key_slots: the queued jobs already in the ledger counted, and
/// the triggers' count of each change after (on PostgreSQL key_slots plus the rows of key_slot_changes not moved into it).
/// </summary>
public sealed class KeyQueuedCountsMigrationTests
{
    /// <summary>key_old: one queued, one running, one parked, one completed; key_other: one queued.</summary>
    internal static async Task<(JobEntry Queued, JobEntry Running, JobEntry Parked)> SeedAsync(OldDatabase old)
    {
        var queued = Ledger.Job("key_old", "echo", JobStatus.Queued);
        var running = Ledger.Job("key_old", "echo", JobStatus.Running);
        var parked = Ledger.Job("key_old", "echo", JobStatus.Queued);
        parked.Parked = true;
        old.Db.Jobs.AddRange(queued, running, parked, Ledger.Job("key_old", "echo", JobStatus.Completed), Ledger.Job("key_other", "echo", JobStatus.Queued));
        await old.Db.SaveChangesAsync();
        return (queued, running, parked);
    }

    /// <summary>Each way a job enters or leaves the queue, or a slot: a start, an end, an unparking, a delete, a new parked job.</summary>
    private static async Task ChangeEveryWayAsync(OldDatabase old, (JobEntry Queued, JobEntry Running, JobEntry Parked) jobs)
    {
        await old.Db.Jobs.Where(j => j.Id == jobs.Queued.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Running));
        await old.Db.Jobs.Where(j => j.Id == jobs.Running.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Completed));
        await old.Db.Jobs.Where(j => j.Id == jobs.Parked.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Parked, false));
        await old.Db.Jobs.Where(j => j.OwnerKeyId == "key_other").ExecuteDeleteAsync();
        var parked = Ledger.Job("key_new", "echo", JobStatus.Queued);
        parked.Parked = true;
        old.Db.Jobs.Add(parked);
        await old.Db.SaveChangesAsync();
    }

    private const string Counts = "SELECT owner_key_id || ' ' || held || ' ' || queued FROM key_slots ORDER BY 1";

    private const string PostgreSqlCounts =
        """
        SELECT owner_key_id || ' ' || SUM(held) || ' ' || SUM(queued)
        FROM (SELECT owner_key_id, held, queued FROM key_slots UNION ALL SELECT owner_key_id, change, queued FROM key_slot_changes) counts
        GROUP BY owner_key_id ORDER BY 1
        """;

    [Test]
    public async Task OnPostgreSql_TheMigration_CountsTheQueuedJobs_AndItsTriggersEachChangeAfter()
    {
        await using var old = await OldDatabase.MigratedToAsync(await PostgresCluster.RequireAsync(), "20261130134952_KeyUnlimitedLimits");
        var jobs = await SeedAsync(old);

        await old.MigrateTheRestAsync();
        var filled = await old.Db.TextAsync(PostgreSqlCounts);
        await ChangeEveryWayAsync(old, jobs);
        var changed = await old.Db.TextAsync(PostgreSqlCounts);

        AssertCounts(filled, changed);
    }

    [Test]
    public async Task OnTheEmbeddedDatabase_TheMigration_CountsTheQueuedJobs_AndItsTriggersEachChangeAfter()
    {
        using var folder = TempFolder.Create("agentcorex-queued-");
        await using var old = await OldDatabase.MigratedToAsync(folder, "20261130135032_KeyUnlimitedLimits");
        var jobs = await SeedAsync(old);

        await old.MigrateTheRestAsync();
        var filled = await old.Db.TextAsync(Counts);
        await ChangeEveryWayAsync(old, jobs);
        var changed = await old.Db.TextAsync(Counts);

        AssertCounts(filled, changed);
    }

    /// <summary>Each key's held slots and queued jobs: filled by the migration, then after <see cref="ChangeEveryWayAsync"/>.</summary>
    private static void AssertCounts(List<string> filled, List<string> changed) =>
        Assert.Multiple(() =>
        {
            Assert.That(filled, Is.EqualTo(new[] { "key_old 2 2", "key_other 1 1" }), "held: queued and running, not parked; queued: parked or not");
            Assert.That(changed, Is.EqualTo(new[] { "key_new 0 1", "key_old 2 1", "key_other 0 0" }), "the unparked job still queued");
        });
}
