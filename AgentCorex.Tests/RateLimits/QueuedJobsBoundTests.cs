using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.Monitoring;
using AgentCorex.Tests.TestTools;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>A server with Jobs:MaxQueuedPerKey at <see cref="Bound"/> and one worker, and what its tests ask of it.</summary>
public abstract class QueuedJobsBoundTest(TestStorage storage) : ServerTest(storage)
{
    protected const int Bound = 3;

    // One worker: a job held at a gate keeps every other job queued until the gate opens.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "1",
        ["Jobs:MaxQueuedPerKey"] = Bound.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected async Task<(string KeyId, HttpClient Client)> KeyAsync(bool admin = false, int? maxConcurrent = null)
    {
        var key = await App.CreateKeyAsync("pro", admin);
        var limits = maxConcurrent is null
            ? (object)new { requests_per_minute = 1_000_000 }
            : new { requests_per_minute = 1_000_000, max_concurrent = maxConcurrent };
        (await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = limits })).EnsureSuccessStatusCode();
        return (key.KeyId, App.CreateClient(key.ApiKey));
    }

    protected static Task<HttpResponseMessage> SubmitAsync(HttpClient client) =>
        client.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "one more" } });

    protected static Task<HttpResponseMessage> ExecuteAsyncAsync(HttpClient client) =>
        client.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "one more" }, mode = "async" });

    protected static async Task<int> ListedAsync(HttpClient client, string status) =>
        (await (await client.GetAsync($"/jobs?status={status}")).ReadObjectAsync()).At("pagination.total")!.GetValue<int>();

    protected static void AssertRefused(HttpResponseMessage response, JsonObject body)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), body.ToJsonString());
        Assert.That(body.ToJsonString(), Is.EqualTo(
            """{"tool":"echo","status":"error","error":{"code":"RATE_LIMIT_EXCEEDED","message":"This key already has 3 jobs queued (at most Jobs:MaxQueuedPerKey); retry when one of them starts or is canceled","details":{"max_queued":3}}}"""));
        Assert.That(response.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(response.Headers.GetValues("X-RateLimit-Limit"), Is.EqualTo(new[] { "1000000" }), "the key's per-minute window, as on every answer it counts");
    }

    /// <summary>Runs <paramref name="test"/> while a job of the client's key holds the one worker at a gate, then lets it end.</summary>
    protected static async Task WhileAtGateAsync(HttpClient client, Func<Task> test)
    {
        var (running, gate) = await client.SubmitAtGateAsync();
        try
        {
            await test();
        }
        finally
        {
            GateTool.Open(gate);
            await client.WaitForFinalAsync(running);
        }
    }

    protected static double Refusals(PrometheusText metrics) =>
        metrics.Value("agentcorex_rate_limit_refusals_total", ("limit", "queued"), ("plan", "admin"));
}

/// <summary>Jobs:MaxQueuedPerKey: the most jobs one key may have queued, parked or waiting for a worker, whatever its limits.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class QueuedJobsBoundTests(TestStorage storage) : QueuedJobsBoundTest(storage)
{
    [Test]
    public async Task AKeyWithItsBoundOfJobsQueued_IsRefusedOnBothRoutes_StoringNothing_AndAdmittedAgainOnceOneIsCanceled()
    {
        // Its one slot held at a gate: what it submits next is parked. An admin key, for POST /execute_tool.
        var (_, client) = await KeyAsync(admin: true, maxConcurrent: 1);
        var (running, gate) = await client.SubmitAtGateAsync();
        try
        {
            var queued = new List<string>();
            for (var i = 0; i < Bound; i++)
            {
                queued.Add(await client.SubmitAsync("echo", new { message = "parked" }));
            }

            using var submitted = await SubmitAsync(client);
            var submitRefusal = await submitted.ReadObjectAsync();
            using var executed = await ExecuteAsyncAsync(client);
            var executeRefusal = await executed.ReadObjectAsync();
            var listedQueued = await ListedAsync(client, "queued");
            var listedAll = await ListedAsync(client, "all");

            (await client.DeleteAsync($"/jobs/{queued[0]}")).EnsureSuccessStatusCode();
            using var afterCancel = await ExecuteAsyncAsync(client);
            using var full = await SubmitAsync(client);

            Assert.Multiple(() =>
            {
                AssertRefused(submitted, submitRefusal);
                AssertRefused(executed, executeRefusal);
                Assert.That(listedQueued, Is.EqualTo(Bound), "the refused submits stored no job");
                Assert.That(listedAll, Is.EqualTo(Bound + 1));
                Assert.That(afterCancel.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "a canceled job left the queue");
                Assert.That(full.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "and its place was taken");
            });
        }
        finally
        {
            GateTool.Open(gate);
            await client.WaitForFinalAsync(running);
        }
    }

    [Test]
    public async Task AnAdminKeysJobsWaitingForAWorker_AreBoundedToo_AnotherKeyIsNot_AndOneThatRunsMakesRoom()
    {
        var (_, blocker) = await KeyAsync();
        var (running, gate) = await blocker.SubmitAtGateAsync();
        var (_, admin) = await KeyAsync(admin: true);
        var queued = new List<string>();
        try
        {
            for (var i = 0; i < Bound; i++)
            {
                queued.Add(await admin.SubmitAsync("echo", new { message = "waits for the worker" }));
            }
            // On PostgreSQL a key without a limit and a bound this small is counted with its changes not yet moved:
            // refused at once, without a move (Jobs/JobLedger.Queue.cs).
            var before = await PrometheusText.ScrapeAsync(Admin);
            using var refused = await SubmitAsync(admin);
            var refusal = await refused.ReadObjectAsync();
            using var refusedToo = await ExecuteAsyncAsync(admin);
            var refusalToo = await refusedToo.ReadObjectAsync();
            using var anotherKeys = await SubmitAsync(blocker);
            var refusalsCounted = Refusals(await PrometheusText.WaitForAsync(Admin, m => Refusals(m) - Refusals(before) >= 2)) - Refusals(before);

            GateTool.Open(gate);
            await admin.WaitForJobAsync(queued[0], j => j.Str("status") != "queued");
            using var afterARun = await SubmitAsync(admin);

            Assert.Multiple(() =>
            {
                AssertRefused(refused, refusal);
                AssertRefused(refusedToo, refusalToo);
                Assert.That(refusalsCounted, Is.EqualTo(2), "agentcorex_rate_limit_refusals_total{limit=queued,plan=admin}");
                Assert.That(anotherKeys.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "another key's queue is its own");
                Assert.That(afterARun.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), "a job that started left the queue");
            });
        }
        finally
        {
            GateTool.Open(gate);
            await blocker.WaitForFinalAsync(running);
        }
    }

    [Test]
    public async Task AKeyWithSlotsFree_IsRefusedAtItsBound_ItsJobsHandedOverNotParked()
    {
        // Its limit far from reached: its jobs are handed to Hangfire, where they wait for the one worker its first holds.
        // On the embedded database its admission lets the key's lock go before the insert commits, and refuses after.
        var (_, client) = await KeyAsync(maxConcurrent: Bound + 2);
        await WhileAtGateAsync(client, async () =>
        {
            for (var i = 0; i < Bound; i++)
            {
                await client.SubmitAsync("echo", new { message = "waits for the worker" });
            }

            using var refused = await SubmitAsync(client);
            var refusal = await refused.ReadObjectAsync();
            var listedQueued = await ListedAsync(client, "queued");

            Assert.Multiple(() =>
            {
                AssertRefused(refused, refusal);
                Assert.That(listedQueued, Is.EqualTo(Bound), "the refused submit stored no job");
            });
        });
    }
}

/// <summary>
/// PostgreSQL: a key without a limit is bounded without its lock, by an insert that reads its kept count (and the changes
/// not yet moved into it, within 10,000 of the bound), so submits of the key at the same moment may let a few more in.
/// </summary>
[TestFixture]
public sealed class PostgreSqlQueuedJobsBoundTests() : QueuedJobsBoundTest(TestStorage.PostgreSql)
{
    [Test]
    public async Task ManySubmitsAtOnce_OfAKeyWithoutALimit_LetInNoFewerThanItsRoom_AndNotAllOfThem_AndItIsRefusedAfter()
    {
        // An admin key: no limit of executions at once (a plan has one).
        var (_, client) = await KeyAsync(admin: true);
        await WhileAtGateAsync(client, async () =>
        {
            // Half the bound queued, not moved into key_slots: within 10,000 of the bound every insert reads the changes too.
            const int queued = (Bound + 1) / 2;
            for (var i = 0; i < queued; i++)
            {
                await client.SubmitAsync("echo", new { message = "waits for the worker" });
            }

            const int atOnce = 40;
            var answers = await Task.WhenAll(Enumerable.Range(0, atOnce).Select(async _ =>
            {
                using var response = await SubmitAsync(client);
                return response.StatusCode;
            }));
            var admitted = answers.Count(a => a == HttpStatusCode.Accepted);
            using var after = await SubmitAsync(client);
            var listedQueued = await ListedAsync(client, "queued");

            Assert.Multiple(() =>
            {
                Assert.That(answers.Where(a => a != HttpStatusCode.Accepted), Is.All.EqualTo(HttpStatusCode.TooManyRequests), "the others were refused");
                Assert.That(admitted, Is.GreaterThanOrEqualTo(Bound - queued), "a key under its bound is not refused");
                Assert.That(admitted, Is.LessThan(atOnce), "over the bound by those that raced, not by all of them");
                Assert.That(listedQueued, Is.EqualTo(queued + admitted), "a refused submit stored nothing");
                Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "once they are in, the key is refused");
            });
        });
    }

    [Test]
    public async Task ASubmitOfAKeyWithoutALimit_DoesNotWaitForItsLock()
    {
        var (keyId, client) = await KeyAsync(admin: true);
        using var scope = App.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        // The lock an admission within a limit takes (KeySlotLock), held by another session while the key submits.
        await using var holding = await db.Database.BeginTransactionAsync();
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({DatabaseLocks.SlotClass}, hashtext({keyId}))");
        var submitting = SubmitAsync(client);
        var first = await Task.WhenAny(submitting, Task.Delay(TimeSpan.FromSeconds(10)));
        await holding.RollbackAsync(); // lets a submit that waits for the lock go on
        using var submitted = await submitting;

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.SameAs(submitting), "the submit was answered while another session held the key's lock");
            Assert.That(submitted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        });
    }
}

/// <summary>Jobs:MaxQueuedPerKey set to 0: no bound.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class UnboundedQueueTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "1",
        ["Jobs:MaxQueuedPerKey"] = "0",
    };

    [Test]
    public async Task ABoundOfZero_LetsAKeyQueueAsManyJobsAsItSubmits()
    {
        var limited = await App.CreateKeyAsync("pro");
        (await Admin.PatchAsJsonAsync($"/api_keys/{limited.KeyId}", new { rate_limits = new { requests_per_minute = 1_000_000, max_concurrent = 1 } })).EnsureSuccessStatusCode();
        var client = App.CreateClient(limited.ApiKey);
        var (running, gate) = await client.SubmitAtGateAsync();
        try
        {
            // Parked behind the key's one slot, and an admin key's waiting for the one worker.
            var parked = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.SubmitAsync("echo", new { message = "parked" })));
            var waiting = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Admin.SubmitAsync("echo", new { message = "waits" })));

            Assert.That(parked.Concat(waiting).Distinct().Count(), Is.EqualTo(40), "every submit was accepted (SubmitAsync asserts its 202)");
        }
        finally
        {
            GateTool.Open(gate);
            await client.WaitForFinalAsync(running);
        }
    }
}
