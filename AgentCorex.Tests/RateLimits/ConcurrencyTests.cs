using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>Each key's limit of tool executions at once (max_concurrent): jobs and direct executions together.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ConcurrencyTests(TestStorage storage) : ServerTest(storage)
{
    // Two workers: enough to show that a parked job holds none, few enough that one held would show.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "2" };

    private static object Wait(int ms) => new { duration_ms = ms };

    /// <summary>A key of the plan whose own request limit is lifted, so a test can submit as much as it needs.</summary>
    private async Task<(string KeyId, HttpClient Client)> KeyAsync(string plan, bool admin = false, int? maxConcurrent = null)
    {
        var key = await App.CreateKeyAsync(plan, admin);
        var limits = maxConcurrent is null
            ? (object)new { requests_per_minute = 1_000_000 }
            : new { requests_per_minute = 1_000_000, max_concurrent = maxConcurrent };
        (await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = limits })).EnsureSuccessStatusCode();
        return (key.KeyId, App.CreateClient(key.ApiKey));
    }

    private async Task<Dictionary<string, int>> LedgerStatusesAsync(string keyId)
    {
        using var scope = App.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        return await db.Jobs.Where(j => j.OwnerKeyId == keyId).GroupBy(j => j.Status).ToDictionaryAsync(g => g.Key, g => g.Count());
    }

    /// <summary>Both workers running another key's 1.5 s jobs, so what is submitted next waits in Hangfire's queue.</summary>
    private async Task<(HttpClient Client, string[] Jobs)> OccupyBothWorkersAsync()
    {
        var (_, blocker) = await KeyAsync("pro");
        var blocking = new[] { await blocker.SubmitAsync("wait", Wait(1_500)), await blocker.SubmitAsync("wait", Wait(1_500)) };
        foreach (var job in blocking)
        {
            await blocker.WaitForStatusAsync(job, "running");
        }
        return (blocker, blocking);
    }

    private static long Seconds(JsonObject job, string field) => job.At(field)!.GetValue<long>();

    [Test]
    public async Task FreeKeysSecondJob_WaitsQueued_AndStartsWhenTheFirstEnds()
    {
        var (_, free) = await KeyAsync("free");

        var first = await free.SubmitAsync("wait", Wait(1_500));
        var second = await free.SubmitAsync("echo", new { message = "after" });
        await free.WaitForStatusAsync(first, "running");
        await Task.Delay(500);
        var waiting = await free.GetJobAsync(second);
        var firstDone = await free.WaitForFinalAsync(first);
        var secondDone = await free.WaitForFinalAsync(second);

        Assert.Multiple(() =>
        {
            Assert.That(waiting.Str("status"), Is.EqualTo("queued"), "over the free plan's one execution at once");
            Assert.That(waiting.At("position_in_queue")!.GetValue<int>(), Is.GreaterThanOrEqualTo(1));
            Assert.That(firstDone.Str("status"), Is.EqualTo("completed"));
            Assert.That(secondDone.Str("status"), Is.EqualTo("completed"), "started once the first ended");
            Assert.That(Seconds(secondDone, "started_at"), Is.GreaterThanOrEqualTo(Seconds(firstDone, "completed_at")));
        });
    }

    [Test]
    public async Task AFreeKeysBacklogOfAThousand_HoldsNoWorker_AndDoesNotDelayAProKey_ThenRevokingCancelsIt()
    {
        var (freeId, free) = await KeyAsync("free");
        var running = await free.SubmitAsync("wait", Wait(60_000), timeoutMs: 120_000);
        try
        {
            await BacklogAsync(freeId, free, running);
        }
        finally
        {
            await Admin.DeleteAsync($"/jobs/{running}?force=true"); // frees its worker for the fixture's other tests
        }
    }

    private async Task BacklogAsync(string freeId, HttpClient free, string running)
    {
        var (_, pro) = await KeyAsync("pro");
        await free.WaitForStatusAsync(running, "running");
        var backlog = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 1_000), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, _) =>
        {
            await free.SubmitAsync("echo", new { message = "backlog" });
            Interlocked.Increment(ref backlog);
        });

        // One worker runs the free key's job; the thousand hold none, so the other takes the pro key's at once.
        var submitted = DateTime.UtcNow;
        var proJob = await pro.SubmitAsync("echo", new { message = "pro" });
        var proDone = await pro.WaitForStatusAsync(proJob, "completed", within: TimeSpan.FromSeconds(5));
        var proLatency = DateTime.UtcNow - submitted;
        var whileWaiting = await LedgerStatusesAsync(freeId);

        var revoked = await Admin.DeleteAsync($"/api_keys/{freeId}");
        var afterRevoke = await LedgerStatusesAsync(freeId);

        Assert.Multiple(() =>
        {
            Assert.That(backlog, Is.EqualTo(1_000));
            Assert.That(proDone.Str("status"), Is.EqualTo("completed"));
            Assert.That(proLatency, Is.LessThan(TimeSpan.FromSeconds(2)), "one pickup, not a thousand jobs");
            Assert.That(whileWaiting.GetValueOrDefault("queued"), Is.EqualTo(1_000), "none of the backlog ran beside the running job");
            Assert.That(whileWaiting.GetValueOrDefault("running"), Is.EqualTo(1));
            Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(afterRevoke.GetValueOrDefault("queued"), Is.Zero, "a revoked key's queued jobs never start");
            Assert.That(afterRevoke.GetValueOrDefault("canceled"), Is.EqualTo(1_000));
            Assert.That(afterRevoke.GetValueOrDefault("running"), Is.EqualTo(1), "its running job runs on");
        });
    }

    [Test]
    public async Task RevokingAKey_StopsItsJobsAlreadyHandedToHangfire_FromStarting()
    {
        // Both workers busy with another key's jobs: the pro keys' jobs wait in Hangfire's queue, holding slots.
        var (blocker, blocking) = await OccupyBothWorkersAsync();
        var (revokedId, revoked) = await KeyAsync("pro");
        var (racedId, raced) = await KeyAsync("pro");
        var queued = new[]
        {
            await revoked.SubmitAsync("echo", new { message = "a" }),
            await revoked.SubmitAsync("echo", new { message = "b" }),
            await raced.SubmitAsync("echo", new { message = "c" }),
        };

        (await Admin.DeleteAsync($"/api_keys/{revokedId}")).EnsureSuccessStatusCode();
        // As another node's revocation that a submit on this node raced: the key is revoked, its job still queued.
        using (var scope = App.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            await db.ApiKeys.Where(k => k.Id == racedId).ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, DateTime.UtcNow));
        }
        Assert.That((await Admin.GetJobAsync(queued[2])).Str("status"), Is.EqualTo("queued"));
        foreach (var job in blocking)
        {
            await blocker.WaitForFinalAsync(job);
        }

        foreach (var job in queued)
        {
            var seen = await Admin.WaitForFinalAsync(job);
            Assert.That(seen.Str("status"), Is.EqualTo("canceled"), seen.ToJsonString());
            Assert.That(seen["started_at"], Is.Null, "never started");
        }
    }

    [Test]
    public async Task ParkedJobs_AreHandedOver_OldestFirst()
    {
        var (keyId, client) = await KeyAsync("pro", maxConcurrent: 1);
        var first = await client.SubmitAsync("wait", Wait(300));
        var parked = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            parked.Add(await client.SubmitAsync("wait", Wait(50)));
        }
        foreach (var job in parked.Prepend(first))
        {
            await client.WaitForFinalAsync(job);
        }

        using var scope = App.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var started = await db.Jobs.Where(j => j.OwnerKeyId == keyId).OrderBy(j => j.StartedAt).Select(j => j.Id).ToListAsync();

        Assert.That(started, Is.EqualTo(parked.Prepend(first)), "one at a time, in the order they were submitted");
    }

    [Test]
    public async Task ManySubmitsAtOnce_TakeNoMoreSlotsThanTheLimit()
    {
        var (keyId, client) = await KeyAsync("pro", maxConcurrent: 3);

        Task<string[]> submitting;
        using (await App.Services.GetRequiredService<WriteGate>().EnterAsync(CancellationToken.None))
        {
            // Embedded: the writer waits at the gate meanwhile, so the admissions meet inserts not yet committed.
            submitting = Task.WhenAll(Enumerable.Range(0, 40).Select(_ => client.SubmitAsync("wait", Wait(10_000))));
            await Task.Delay(500);
        }
        var jobs = await submitting;
        using (var scope = App.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            var mine = db.Jobs.Where(j => j.OwnerKeyId == keyId);
            var holding = await mine.CountAsync(j => !j.Parked && (j.Status == "queued" || j.Status == "running"));
            var parked = await mine.CountAsync(j => j.Parked && j.Status == "queued");

            Assert.Multiple(() =>
            {
                Assert.That(holding, Is.EqualTo(3), "handed to Hangfire: the limit, no more");
                Assert.That(parked, Is.EqualTo(37));
            });
        }

        // Out of the way of the fixture's other tests, which share its two workers.
        foreach (var job in jobs)
        {
            await client.DeleteAsync($"/jobs/{job}?force=true");
        }
        foreach (var job in jobs)
        {
            await client.WaitForFinalAsync(job);
        }
    }

    [Test]
    public async Task DirectExecutions_ShareTheKeysSlots_WithItsJobs()
    {
        var (_, admin) = await KeyAsync("enterprise", admin: true, maxConcurrent: 1);

        var job = await admin.SubmitAsync("wait", Wait(1_500));
        await admin.WaitForStatusAsync(job, "running");
        var refused = await admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "now" } });
        var refusal = await refused.ReadObjectAsync();
        await admin.WaitForFinalAsync(job);
        var allowed = await admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "now" } });

        // And the other way round: a job submitted while a direct execution runs waits for it.
        var direct = admin.PostJsonAsync("/execute_tool", new { tool = "wait", arguments = Wait(1_500) });
        await Task.Delay(300);
        var parked = await admin.SubmitAsync("echo", new { message = "after the direct one" });
        await Task.Delay(300);
        var whileDirect = await admin.GetJobAsync(parked);
        var directAnswer = await direct;
        var parkedDone = await admin.WaitForFinalAsync(parked);

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(refusal.Str("error.code"), Is.EqualTo("RATE_LIMIT_EXCEEDED"));
            Assert.That(refusal.At("error.details.max_concurrent")!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(refused.Headers.RetryAfter?.Delta, Is.Not.Null);
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the slot came back when the job ended");
            Assert.That(whileDirect.Str("status"), Is.EqualTo("queued"));
            Assert.That(directAnswer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(parkedDone.Str("status"), Is.EqualTo("completed"), "started when the direct execution gave its slot back");
        });
    }

    /// <summary>A free key with a 3 s job running and a second one parked behind it; the second as it was seen then.</summary>
    private async Task<(string KeyId, HttpClient Client, string First, string Second, JsonObject SecondBefore)> FreeKeyWithAJobWaitingAsync()
    {
        var (keyId, free) = await KeyAsync("free");
        var first = await free.SubmitAsync("wait", Wait(3_000));
        await free.WaitForStatusAsync(first, "running");
        var second = await free.SubmitAsync("echo", new { message = "waiting" });
        await Task.Delay(300);
        return (keyId, free, first, second, await free.GetJobAsync(second));
    }

    [Test]
    public async Task RaisingAKeysLimit_StartsItsWaitingJobs_AtOnce()
    {
        var (keyId, free, first, second, before) = await FreeKeyWithAJobWaitingAsync();

        (await Admin.PatchAsJsonAsync($"/api_keys/{keyId}", new { rate_limits = new { max_concurrent = 2 } })).EnsureSuccessStatusCode();
        var after = await free.WaitForStatusAsync(second, "completed", within: TimeSpan.FromSeconds(2));
        var firstNow = await free.GetJobAsync(first);

        Assert.That(before.Str("status"), Is.EqualTo("queued"));
        Assert.That(after.Str("status"), Is.EqualTo("completed"));
        Assert.That(firstNow.Str("status"), Is.EqualTo("running"), "the second ran beside the first");
    }

    [Test]
    public async Task LiftingAKeysLimit_StartsItsWaitingJobs_AndParksNoneAfter()
    {
        var (keyId, free, first, second, before) = await FreeKeyWithAJobWaitingAsync();

        (await Admin.PatchRawAsync($"/api_keys/{keyId}", """{"rate_limits":{"max_concurrent":null}}""")).EnsureSuccessStatusCode();
        var after = await free.WaitForStatusAsync(second, "completed", within: TimeSpan.FromSeconds(2));
        var third = await free.SubmitAsync("echo", new { message = "not parked" });
        var thirdDone = await free.WaitForStatusAsync(third, "completed", within: TimeSpan.FromSeconds(2));
        var firstNow = await free.GetJobAsync(first);
        await free.WaitForFinalAsync(first); // its worker free again for the fixture's next test

        Assert.Multiple(() =>
        {
            Assert.That(before.Str("status"), Is.EqualTo("queued"), "over the free plan's one at once");
            Assert.That(after.Str("status"), Is.EqualTo("completed"), "handed over when the limit was lifted");
            Assert.That(thirdDone.Str("status"), Is.EqualTo("completed"), "a job submitted after is not parked");
            Assert.That(firstNow.Str("status"), Is.EqualTo("running"), "both beside the first");
        });
    }

    /// <summary>
    /// A raised limit hands over more parked jobs than one hold of the key's lock does (100), all at once. They wait
    /// 10 s, so that none ends, and hands over the rest, before they are counted.
    /// </summary>
    [Test]
    public async Task RaisingAKeysLimit_HandsOverAllItsParkedJobs_MoreThanAHundred()
    {
        // Seeded before the key's first PATCH, which is the first time the embedded database asks whether it has parked jobs.
        var keyId = (await App.CreateKeyAsync("free")).KeyId;
        await App.AddJobsAsync(Enumerable.Range(0, 150).Select(_ => Ledger.Parked(keyId, "wait", """{"duration_ms":10000}""")));

        (await Admin.PatchAsJsonAsync($"/api_keys/{keyId}", new { rate_limits = new { max_concurrent = 200 } })).EnsureSuccessStatusCode();
        int stillParked;
        List<string> running;
        using (var scope = App.Services.CreateScope())
        {
            var mine = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.OwnerKeyId == keyId);
            stillParked = await mine.CountAsync(j => j.Parked && j.Status == "queued");
            (await Admin.DeleteAsync($"/api_keys/{keyId}")).EnsureSuccessStatusCode(); // cancels those not started
            running = await mine.Where(j => j.Status == "running").Select(j => j.Id).ToListAsync();
        }
        foreach (var job in running)
        {
            await Admin.DeleteAsync($"/jobs/{job}?force=true"); // frees the fixture's workers
            await Admin.WaitForFinalAsync(job);
        }

        Assert.That(stillParked, Is.Zero, "the 150 handed over as the PATCH was answered");
    }

    /// <summary>
    /// A key's jobs admitted while its limit was lifted hold slots: when a limit is set again, they count. On the
    /// embedded database they were once stored without a word to the key's remembered bound (SqliteSlotQueries), which
    /// then admitted past the limit until its own count reached it.
    /// </summary>
    [Test]
    public async Task ALimitSetAgain_CountsTheJobsAdmittedWhileItWasLifted()
    {
        var (keyId, client) = await KeyAsync("pro", maxConcurrent: 2);
        var jobs = new List<string> { await client.SubmitAsync("wait", Wait(10_000)) }; // held: 1 of 2

        (await Admin.PatchRawAsync($"/api_keys/{keyId}", """{"rate_limits":{"max_concurrent":null}}""")).EnsureSuccessStatusCode();
        jobs.Add(await client.SubmitAsync("wait", Wait(10_000)));
        jobs.Add(await client.SubmitAsync("wait", Wait(10_000))); // held: 3, no limit
        (await Admin.PatchAsJsonAsync($"/api_keys/{keyId}", new { rate_limits = new { max_concurrent = 2 } })).EnsureSuccessStatusCode();
        jobs.Add(await client.SubmitAsync("wait", Wait(10_000))); // over the limit of 2: parked

        int holding, parked;
        using (var scope = App.Services.CreateScope())
        {
            var mine = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.OwnerKeyId == keyId);
            holding = await mine.CountAsync(j => !j.Parked && (j.Status == "queued" || j.Status == "running"));
            parked = await mine.CountAsync(j => j.Parked && j.Status == "queued");
        }
        foreach (var job in jobs)
        {
            await client.DeleteAsync($"/jobs/{job}?force=true");
        }
        foreach (var job in jobs)
        {
            await client.WaitForFinalAsync(job);
        }

        Assert.Multiple(() =>
        {
            Assert.That(holding, Is.EqualTo(3), "the three admitted before the limit was set again, not a fourth");
            Assert.That(parked, Is.EqualTo(1), "the one submitted under the limit of 2 waits");
        });
    }

    /// <summary>
    /// A job submitted as a slot frees, before the hand-over has taken the key's lock, is parked behind the job parked
    /// before it, which takes the slot. Here the key's lock is held (as another admission of the key would) while the
    /// first job ends and the new one is submitted, so both wait for it.
    /// </summary>
    [Test]
    public async Task AFreedSlot_GoesToTheParkedJob_NotToAJobSubmittedAsItFrees()
    {
        var (keyId, free) = await KeyAsync("free");
        var first = await free.SubmitAsync("wait", Wait(500));
        await free.WaitForStatusAsync(first, "running");
        var parked = await free.SubmitAsync("wait", Wait(3_000));

        var release = new TaskCompletionSource();
        var held = new TaskCompletionSource();
        using var scope = App.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var holding = App.Services.GetRequiredService<KeySlotLock>().RunAsync(() => db, keyId, async _ =>
        {
            held.SetResult();
            await release.Task;
            return true;
        }, CancellationToken.None);
        await held.Task;
        await free.WaitForStatusAsync(first, "completed");
        var submitting = free.SubmitAsync("wait", Wait(3_000));
        await Task.Delay(500); // both the freed slot's hand-over and the new submit waiting for the key's lock
        release.SetResult();
        await holding;
        var later = await submitting;
        await Task.Delay(500); // the hand-over, had it lost the lock to the submit, done by now

        bool parkedStillParked, laterParked;
        using (var read = App.Services.CreateScope())
        {
            var jobs = read.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking();
            parkedStillParked = await jobs.Where(j => j.Id == parked).Select(j => j.Parked).SingleAsync();
            laterParked = await jobs.Where(j => j.Id == later).Select(j => j.Parked).SingleAsync();
        }
        foreach (var job in new[] { parked, later })
        {
            await free.DeleteAsync($"/jobs/{job}?force=true");
            await free.WaitForFinalAsync(job);
        }

        Assert.Multiple(() =>
        {
            Assert.That(parkedStillParked, Is.False, "the job parked first is handed the freed slot");
            Assert.That(laterParked, Is.True, "the job submitted as the slot freed waits behind it");
        });
    }

    [Test]
    public async Task PositionInQueue_DoesNotCountOtherKeysWaitingJobs()
    {
        // Both workers busy; a free key's three jobs wait for its slot; then a pro key's job.
        var (blocker, blocking) = await OccupyBothWorkersAsync();
        var (_, free) = await KeyAsync("free");
        var freeJobs = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            freeJobs.Add(await free.SubmitAsync("echo", new { message = "free" }));
        }
        var (_, pro) = await KeyAsync("pro");
        var proJob = await pro.SubmitAsync("echo", new { message = "pro" });

        var positions = new List<int>();
        foreach (var job in freeJobs)
        {
            positions.Add((await free.GetJobAsync(job)).At("position_in_queue")!.GetValue<int>());
        }
        var proPosition = (await pro.GetJobAsync(proJob)).At("position_in_queue")!.GetValue<int>();

        Assert.That(positions, Is.Ordered.Ascending);
        Assert.That(positions[1] - positions[0], Is.EqualTo(1));
        Assert.That(proPosition, Is.EqualTo(positions[0] + 1), "behind the free key's job that holds its slot, not behind the two waiting for it");
        foreach (var job in blocking)
        {
            await blocker.WaitForFinalAsync(job);
        }
    }
}
