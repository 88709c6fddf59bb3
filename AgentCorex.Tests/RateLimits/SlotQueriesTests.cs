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

    /// <summary>key_slots as the triggers keep it, against the rows counted, for every key.</summary>
    private async Task<(Dictionary<string, long> Kept, Dictionary<string, long> Counted)> SlotCountsAsync()
    {
        using var scope = App.Services.CreateScope();
        var connection = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.GetDbConnection();
        await connection.OpenAsync();
        return (await Read("SELECT owner_key_id, held FROM key_slots WHERE held <> 0"),
            await Read($"SELECT owner_key_id, COUNT(*) FROM jobs WHERE parked = 0 AND status IN ('{JobStatus.Queued}', '{JobStatus.Running}') GROUP BY owner_key_id"));

        async Task<Dictionary<string, long>> Read(string sql)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync();
            var counts = new Dictionary<string, long>();
            while (await reader.ReadAsync())
            {
                counts[reader.GetString(0)] = reader.GetInt64(1);
            }
            return counts;
        }
    }

    [Test]
    public async Task TheKeptCount_FollowsEveryWayAJobTakesOrGivesUpASlot()
    {
        var key = await App.CreateKeyAsync("pro");
        (await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = new { requests_per_minute = 1_000_000, max_concurrent = 2 } })).EnsureSuccessStatusCode();
        var client = App.CreateClient(key.ApiKey);

        // Two run, four are parked; one parked and one running are canceled, one fails, the rest complete.
        var waits = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            waits.Add(await client.SubmitAsync("wait", new { duration_ms = 400 }));
        }
        var failing = await client.SubmitAsync("fail", new { message = "on purpose" });
        var whileRunning = await SlotCountsAsync();
        await client.DeleteAsync($"/jobs/{waits[4]}");
        await client.WaitForStatusAsync(waits[0], "running");
        await client.DeleteAsync($"/jobs/{waits[0]}?force=true");
        foreach (var job in waits.Append(failing))
        {
            await client.WaitForFinalAsync(job);
        }
        // And rows written and removed outside the API, as the repair passes do.
        var seeded = Ledger.Job(key.KeyId, "echo", JobStatus.Queued);
        await App.AddJobsAsync([seeded]);
        var withSeeded = await SlotCountsAsync();
        using (var scope = App.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<JobLedger>().RemoveAsync(seeded.Id, CancellationToken.None);
        }
        var atTheEnd = await SlotCountsAsync();

        Assert.Multiple(() =>
        {
            Assert.That(whileRunning.Kept, Is.EqualTo(whileRunning.Counted));
            Assert.That(whileRunning.Kept.GetValueOrDefault(key.KeyId), Is.EqualTo(2), "the limit held, the rest parked");
            Assert.That(withSeeded.Kept, Is.EqualTo(withSeeded.Counted));
            Assert.That(withSeeded.Kept.GetValueOrDefault(key.KeyId), Is.EqualTo(1));
            Assert.That(atTheEnd.Kept, Is.EqualTo(atTheEnd.Counted));
            Assert.That(atTheEnd.Kept.ContainsKey(key.KeyId), Is.False, "every slot given back");
        });
    }

    [Test]
    public async Task TheMigration_CountsTheJobsAlreadyInTheLedger()
    {
        using var folder = TempFolder.Create("agentcorex-slots-");
        await using var old = await OldDatabase.MigratedToAsync(folder, "20261128224617_JobEventsPending"); // the schema before key_slots
        old.Db.ApiKeys.Add(new ApiKey { Id = "key_old", Name = "old", Plan = "pro", IsAdmin = false, SecretHash = new byte[32], CreatedAt = DateTime.UtcNow });
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
