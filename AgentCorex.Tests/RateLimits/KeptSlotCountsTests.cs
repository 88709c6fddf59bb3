using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// Each key's slots held by its jobs and its queued jobs, as the database's triggers keep them (key_slots; on PostgreSQL
/// also the changes in key_slot_changes not yet moved into it), against the rows counted.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class KeptSlotCountsTests(TestStorage storage) : ServerTest(storage)
{
    /// <summary>The key's kept count of slots held and its rows counted, read in one statement (one snapshot).</summary>
    private Task<(long Kept, long Counted)> SlotCountsAsync(string keyId) =>
        CountsAsync(keyId, "held", "change", $"NOT parked AND status IN ('{JobStatus.Queued}', '{JobStatus.Running}')");

    /// <summary>The same of the key's queued jobs, parked or not (migration KeyQueuedCounts).</summary>
    private Task<(long Kept, long Counted)> QueuedCountsAsync(string keyId) =>
        CountsAsync(keyId, "queued", "queued", $"status = '{JobStatus.Queued}'");

    private async Task<(long Kept, long Counted)> CountsAsync(string keyId, string column, string changeColumn, string counted)
    {
        var kept = Storage == TestStorage.PostgreSql
            ? $"SELECT COALESCE(SUM({column}), 0) FROM (SELECT {column} FROM key_slots WHERE owner_key_id = $1 UNION ALL SELECT {changeColumn} FROM key_slot_changes WHERE owner_key_id = $1) slots"
            : $"SELECT COALESCE((SELECT {column} FROM key_slots WHERE owner_key_id = $1), 0)";
        using var scope = App.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = $"SELECT ({kept}), (SELECT COUNT(*) FROM jobs WHERE owner_key_id = $1 AND {counted})";
        var key = command.CreateParameter();
        key.ParameterName = "$1";
        key.Value = keyId;
        if (Storage == TestStorage.PostgreSql)
        {
            key.ParameterName = ""; // positional
        }
        command.Parameters.Add(key);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (Convert.ToInt64(reader.GetValue(0)), Convert.ToInt64(reader.GetValue(1)));
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
        var whileRunning = await SlotCountsAsync(key.KeyId);
        var queuedWhileRunning = await QueuedCountsAsync(key.KeyId);
        await MoveKeySlotChangesAsync();
        var moved = await SlotCountsAsync(key.KeyId);
        var queuedMoved = await QueuedCountsAsync(key.KeyId);
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
        var withSeeded = await SlotCountsAsync(key.KeyId);
        var queuedWithSeeded = await QueuedCountsAsync(key.KeyId);
        using (var scope = App.Services.CreateScope())
        {
            await scope.ServiceProvider.GetRequiredService<JobLedger>().RemoveAsync(seeded.Id, CancellationToken.None);
        }
        var atTheEnd = await SlotCountsAsync(key.KeyId);
        await MoveKeySlotChangesAsync();
        var atTheEndMoved = await SlotCountsAsync(key.KeyId);
        var queuedAtTheEnd = await QueuedCountsAsync(key.KeyId);

        Assert.Multiple(() =>
        {
            Assert.That(whileRunning, Is.EqualTo((2L, 2L)), "the limit held, the rest parked");
            Assert.That(moved, Is.EqualTo(whileRunning), "the same once the changes were moved");
            Assert.That(withSeeded, Is.EqualTo((1L, 1L)));
            Assert.That(atTheEnd, Is.EqualTo((0L, 0L)), "every slot given back");
            Assert.That(atTheEndMoved, Is.EqualTo((0L, 0L)));
            Assert.That(queuedWhileRunning.Kept, Is.EqualTo(queuedWhileRunning.Counted), "the queued jobs kept counted, parked or not");
            Assert.That(queuedWhileRunning.Counted, Is.InRange(4L, 6L), "the four parked, and any of the two not started yet");
            Assert.That(queuedMoved.Kept, Is.EqualTo(queuedMoved.Counted));
            Assert.That(queuedWithSeeded, Is.EqualTo((1L, 1L)));
            Assert.That(queuedAtTheEnd, Is.EqualTo((0L, 0L)));
        });
    }

    [Test]
    public async Task ManyAdmissionsOfOneKey_WhileItsChangesAreMoved_TakeNoMoreSlotsThanTheLimit_AndKeepTheCountTrue()
    {
        var key = await App.CreateKeyAsync("pro");
        (await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = new { requests_per_minute = 1_000_000, max_concurrent = 4 } })).EnsureSuccessStatusCode();
        var client = App.CreateClient(key.ApiKey);
        using var stop = new CancellationTokenSource();
        var moving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await MoveKeySlotChangesAsync();
                await Task.Delay(1);
            }
        });

        // Short jobs, so that slots are given up and taken again while submits arrive and changes are moved.
        var jobs = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => client.SubmitAsync("wait", new { duration_ms = 20 })));
        var mostHeld = 0L;
        var mismatches = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            var (kept, counted) = await SlotCountsAsync(key.KeyId);
            mostHeld = Math.Max(mostHeld, counted);
            if (kept != counted)
            {
                mismatches.Add($"kept {kept}, counted {counted}");
            }
            if (await QueuedCountsAsync(key.KeyId) is var (keptQueued, countedQueued) && keptQueued != countedQueued)
            {
                mismatches.Add($"queued: kept {keptQueued}, counted {countedQueued}");
            }
            if (counted == 0 && await AllFinalAsync(client, jobs))
            {
                break;
            }
        }
        await stop.CancelAsync();
        await moving;
        var atTheEnd = await SlotCountsAsync(key.KeyId);
        var queuedAtTheEnd = await QueuedCountsAsync(key.KeyId);

        Assert.Multiple(() =>
        {
            Assert.That(mostHeld, Is.LessThanOrEqualTo(4), "never more jobs holding slots than the limit");
            Assert.That(mismatches, Is.Empty, "the kept count agreed with the rows at every look");
            Assert.That(atTheEnd, Is.EqualTo((0L, 0L)), "every slot given back");
            Assert.That(queuedAtTheEnd, Is.EqualTo((0L, 0L)), "none queued");
        });
    }

    private static async Task<bool> AllFinalAsync(HttpClient client, IEnumerable<string> jobs)
    {
        foreach (var job in jobs)
        {
            var status = (await client.GetJobAsync(job))["status"]!.GetValue<string>();
            if (status is "queued" or "running")
            {
                return false;
            }
        }
        return true;
    }
}
