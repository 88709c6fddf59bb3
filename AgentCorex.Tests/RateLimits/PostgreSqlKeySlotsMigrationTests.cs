using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Tests.RateLimits;

/// <summary>PostgreSQL's migration KeySlotCounts: the slots held by the jobs already in the ledger, and the triggers' changes after.</summary>
public sealed class PostgreSqlKeySlotsMigrationTests
{
    [Test]
    public async Task TheMigration_CountsTheJobsAlreadyHoldingSlots_AndItsTriggersEachChangeAfter()
    {
        await using var old = await OldDatabase.MigratedToAsync(await PostgresCluster.RequireAsync(), "20261130063755_EndedJobsIndex");
        var (queued, running, parked) = await KeyQueuedCountsMigrationTests.SeedAsync(old);

        await old.MigrateTheRestAsync();
        var filled = await old.Db.TextAsync("SELECT owner_key_id || ' ' || held FROM key_slots ORDER BY 1");
        await old.Db.Jobs.Where(j => j.Id == queued.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Running)); // held either way
        await old.Db.Jobs.Where(j => j.Id == running.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Completed));
        await old.Db.Jobs.Where(j => j.Id == parked.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Parked, false));
        await old.Db.Jobs.Where(j => j.OwnerKeyId == "key_other").ExecuteDeleteAsync();
        // The slots' changes: the migrations after (KeyQueuedCounts) also add rows that change only a key's queued jobs.
        var changes = await old.Db.TextAsync("SELECT owner_key_id || ' ' || change FROM key_slot_changes WHERE change <> 0 ORDER BY 1");

        Assert.That(filled, Is.EqualTo(new[] { "key_old 2", "key_other 1" }), "queued and running, not the parked or the completed");
        Assert.That(changes, Is.EqualTo(new[] { "key_old -1", "key_old 1", "key_other -1" }));
    }
}
