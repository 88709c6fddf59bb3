using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// The embedded database's answers about a key's slots. This process stores every job, so a count stays true as a
/// bound once the jobs stored since are added to it; a key is counted again only when that bound reaches the limit asked about.
/// </summary>
public sealed class SlotQueriesTests() : ServerTest(TestStorage.Embedded)
{
    /// <summary>The embedded count is read by the writer, from key_slots: it needs no EF Core context.</summary>
    private static readonly Func<AgentCorexDb> NoContext = () => throw new InvalidOperationException("not asked of EF Core");

    private static IEnumerable<JobEntry> Queued(string keyId, int count) =>
        Enumerable.Range(0, count).Select(_ => Ledger.Job(keyId, "echo", JobStatus.Queued));

    [Test]
    public async Task AKey_IsCountedAgain_OnlyWhenItsBoundReachesTheLimit()
    {
        var key = await App.CreateKeyAsync("pro");
        var queries = App.Services.GetRequiredService<ISlotQueries>();
        await App.AddJobsAsync(Queued(key.KeyId, 3));

        var counted = await queries.HoldAtLeastAsync(NoContext, key.KeyId, 10, CancellationToken.None);
        // Seven more rows that this process's admission was not told of: the bound (3) still answers.
        await App.AddJobsAsync(Queued(key.KeyId, 7));
        var fromTheBound = await queries.HoldAtLeastAsync(NoContext, key.KeyId, 10, CancellationToken.None);
        for (var i = 0; i < 7; i++)
        {
            queries.Stored(key.KeyId, parked: false);
        }
        var countedAgain = await queries.HoldAtLeastAsync(NoContext, key.KeyId, 10, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(counted, Is.False, "3 held, 10 asked about");
            Assert.That(fromTheBound, Is.False, "answered from the bound, without a count");
            Assert.That(countedAgain, Is.True, "the bound reached 10, so the 10 rows were counted");
        });
    }

    [Test]
    public async Task AKeysJobs_AreCountedUpToTheLimit_AndNoFurther()
    {
        var key = await App.CreateKeyAsync("pro");
        var queries = App.Services.GetRequiredService<ISlotQueries>();
        await App.AddJobsAsync([.. Queued(key.KeyId, 8), Ledger.Job(key.KeyId, "echo", JobStatus.Completed)]);

        Assert.Multiple(async () =>
        {
            Assert.That(await queries.HeldByJobsAsync(NoContext, key.KeyId, 5, CancellationToken.None), Is.EqualTo(5));
            Assert.That(await queries.HeldByJobsAsync(NoContext, key.KeyId, 100, CancellationToken.None), Is.EqualTo(8), "a completed job holds no slot");
        });
    }

    [Test]
    public async Task TheMigration_CountsTheJobsAlreadyInTheLedger()
    {
        using var folder = TempFolder.Create("agentcorex-slots-");
        await using var old = await OldDatabase.MigratedToAsync(folder, "20261128224617_JobEventsPending"); // the schema before key_slots
        // The key in that schema's own columns: today's model has columns the old table has not (a key without limits).
        await old.Db.Database.ExecuteSqlInterpolatedAsync(
            $"INSERT INTO api_keys (key_id, name, plan, is_admin, secret_hash, created_at) VALUES ('key_old', 'old', 'pro', 0, {new byte[32]}, {DateTime.UtcNow})");
        var parked = Ledger.Job("key_old", "echo", JobStatus.Queued);
        parked.Parked = true;
        old.Db.Jobs.AddRange(
            Ledger.Job("key_old", "echo", JobStatus.Queued), Ledger.Job("key_old", "echo", JobStatus.Running),
            Ledger.Job("key_old", "echo", JobStatus.Completed), parked);
        await old.Db.SaveChangesAsync();

        await old.MigrateTheRestAsync();
        await using var command = old.Db.Database.GetDbConnection().CreateCommand();
        command.CommandText = "SELECT held FROM key_slots WHERE owner_key_id = 'key_old'";

        Assert.That(Convert.ToInt64(await command.ExecuteScalarAsync()), Is.EqualTo(2), "one queued and one running; not the completed or the parked one");
    }
}
