using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// Idempotency-Key on a job's submit: a retried submit gets the job the first one made, never a second job; the same key
/// with another submit is refused 422; the key is its owner's.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class IdempotencyKeyTests(TestStorage storage) : ServerTest(storage)
{
    private static readonly object Echo = new { tool = "echo", arguments = new { message = "once" } };

    [Test]
    public async Task TheSameSubmitTwice_IsAnsweredTheFirstsJob_AndRunsOnce()
    {
        using var client = await ClientAsync();
        var key = NewKey();

        using var first = await SubmitAsync(client, "/jobs/submit", Echo, key);
        var firstBody = await first.ReadObjectAsync();
        await client.WaitForFinalAsync(firstBody.Str("job_id")!);
        using var again = await SubmitAsync(client, "/jobs/submit", Echo, key);
        var againBody = await again.ReadObjectAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), firstBody.ToJsonString());
            Assert.That(first.Headers.Contains("Idempotent-Replayed"), Is.False, "a new job is not a replay");
            Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), againBody.ToJsonString());
            Assert.That(again.Headers.GetValues("Idempotent-Replayed"), Is.EqualTo(new[] { "true" }));
            Assert.That(again.Headers.Location, Is.EqualTo(first.Headers.Location));
            // Answered as the first submit was: queued, created then; the job has completed since (GET says so).
            foreach (var field in new[] { "job_id", "status", "tool", "created_at" })
            {
                Assert.That(againBody[field]?.ToJsonString(), Is.EqualTo(firstBody[field]?.ToJsonString()), field);
            }
            Assert.That(againBody.Str("status"), Is.EqualTo("queued"));
            Assert.That(await JobsWithKeyAsync(key), Is.EqualTo(1), "one job stored");
            Assert.That((await client.GetJobAsync(firstBody.Str("job_id")!)).Str("status"), Is.EqualTo("completed"), "and run once");
        });
    }

    [Test]
    public async Task BothRoutes_ShareTheKey_AndArgumentsInAnotherOrder_AreTheSameSubmit()
    {
        // POST /execute_tool is an admin key's route.
        using var client = await ClientAsync(admin: true);
        var key = NewKey();

        using var viaExecute = await SubmitRawAsync(client, "/execute_tool",
            """{"tool":"test_nested","mode":"async","arguments":{"target":{"host":"h","port":80},"tags":["a","b"]},"timeout_ms":5000}""", key);
        using var viaSubmit = await SubmitRawAsync(client, "/jobs/submit",
            """{ "timeout_ms": 5000, "arguments": { "tags": [ "a", "b" ], "target": { "port": 80.0, "host": "h" } }, "tool": "test_nested" }""", key);
        var executeBody = await viaExecute.ReadObjectAsync();
        var submitBody = await viaSubmit.ReadObjectAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(viaExecute.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), executeBody.ToJsonString());
            Assert.That(viaSubmit.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), submitBody.ToJsonString());
            Assert.That(submitBody.Str("job_id"), Is.EqualTo(executeBody.Str("job_id")));
            Assert.That(viaSubmit.Headers.Contains("Idempotent-Replayed"), Is.True);
            Assert.That(await JobsWithKeyAsync(key), Is.EqualTo(1));
        });
    }

    [TestCase("""{"tool":"echo","arguments":{"message":"other"}}""", TestName = "{m}(other arguments)")]
    [TestCase("""{"tool":"test_record","arguments":{"label":"once"}}""", TestName = "{m}(another tool)")]
    [TestCase("""{"tool":"echo","arguments":{"message":"once"},"timeout_ms":1234}""", TestName = "{m}(another timeout)")]
    public async Task TheSameKeyWithAnotherSubmit_IsRefused422_StoringNothing(string other)
    {
        using var client = await ClientAsync();
        var key = NewKey();
        var jobId = (await (await SubmitAsync(client, "/jobs/submit", Echo, key)).ReadObjectAsync()).Str("job_id");

        using var refused = await SubmitRawAsync(client, "/jobs/submit", other, key);
        var body = await refused.ReadObjectAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), body.ToJsonString());
            Assert.That(body.Str("error.code"), Is.EqualTo("IDEMPOTENCY_KEY_REUSED"));
            Assert.That(body.Str("error.message"), Does.Contain(key).And.Contain(jobId));
            Assert.That(body.Str("error.details.job_id"), Is.EqualTo(jobId));
            Assert.That(await JobsWithKeyAsync(key), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task AnotherApiKeysSubmitWithTheSameIdempotencyKey_MakesAJobOfItsOwn()
    {
        using var one = await ClientAsync();
        using var other = await ClientAsync();
        var key = NewKey();

        var first = (await (await SubmitAsync(one, "/jobs/submit", Echo, key)).ReadObjectAsync()).Str("job_id");
        using var second = await SubmitAsync(other, "/jobs/submit", Echo, key);
        var body = await second.ReadObjectAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToJsonString());
            Assert.That(body.Str("job_id"), Is.Not.EqualTo(first));
            Assert.That(second.Headers.Contains("Idempotent-Replayed"), Is.False);
            Assert.That(await JobsWithKeyAsync(key), Is.EqualTo(2));
        });
    }

    /// <summary>Submits racing with one key: the unique index lets one job in, the others answer it. With and without a limit of executions at once (another admission path).</summary>
    [TestCase(null)]
    [TestCase(1)]
    public async Task ManySubmitsWithOneKeyAtOnce_MakeOneJob(int? maxConcurrent)
    {
        using var client = await ClientAsync(maxConcurrent: maxConcurrent);
        var key = NewKey();

        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var response = await SubmitAsync(client, "/jobs/submit", Echo, key);
            return (response.StatusCode, Body: await response.ReadObjectAsync(), Replayed: response.Headers.Contains("Idempotent-Replayed"));
        }));

        Assert.Multiple(async () =>
        {
            Assert.That(answers.Select(a => a.StatusCode), Is.All.EqualTo(HttpStatusCode.Accepted), string.Join("\n", answers.Select(a => a.Body.ToJsonString())));
            Assert.That(answers.Select(a => a.Body.Str("job_id")).Distinct().Count(), Is.EqualTo(1));
            Assert.That(answers.Count(a => !a.Replayed), Is.EqualTo(1), "one submit made the job");
            Assert.That(await JobsWithKeyAsync(key), Is.EqualTo(1));
        });
        await client.WaitForFinalAsync(answers[0].Body.Str("job_id")!);
    }

    [TestCase("tab\there", TestName = "{m}(a tab)")]
    [TestCase("a,b", TestName = "{m}(a comma)")]
    [TestCase("has space", TestName = "{m}(a space)")]
    [TestCase("caf\u00e9", TestName = "{m}(not ASCII)")]
    [TestCase(null, TestName = "{m}(256 characters)")]
    public async Task AKeyThatIsNotOne_IsRefused400_StoringNothing(string? key)
    {
        using var client = await ClientAsync();
        key ??= new string('k', 256);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/submit") { Content = JsonContent.Create(Echo) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(key)));
        var before = await ListedAsync(client);

        using var refused = await client.SendAsync(request);
        var body = await refused.ReadObjectAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_REQUEST"));
            Assert.That(body.Str("error.message"), Does.StartWith("Idempotency-Key must be 1 to 255 visible ASCII characters"));
            Assert.That(await ListedAsync(client), Is.EqualTo(before));
        });
    }

    [Test]
    public async Task TwoKeysInOneRequest_AreRefused400()
    {
        using var client = await ClientAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/submit") { Content = JsonContent.Create(Echo) };
        request.Headers.Add("Idempotency-Key", [NewKey(), NewKey()]);

        using var refused = await client.SendAsync(request);
        var body = await refused.ReadObjectAsync();

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
        Assert.That(body.Str("error.message"), Is.EqualTo("Idempotency-Key must be sent once"));
    }

    [Test]
    public async Task ADirectExecutionWithAKey_IsRefused400_AndDoesNotRun()
    {
        using var client = await ClientAsync(admin: true);
        var runs = RecordTool.Runs.Values.Sum();

        using var refused = await SubmitAsync(client, "/execute_tool", new { tool = "test_record", arguments = new { label = "direct" } }, NewKey());
        var body = await refused.ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body.ToJsonString());
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_REQUEST"));
            Assert.That(body.Str("error.message"), Does.Contain("mode \"async\""));
            Assert.That(RecordTool.Runs.Values.Sum(), Is.EqualTo(runs), "the tool did not run");
        });
    }

    [Test]
    public async Task ARetryOfAKeyAtItsBoundOfQueuedJobs_IsAnsweredItsJob_NotRefused()
    {
        // One slot held at a gate and Jobs:MaxQueuedPerKey of 2 (ServerSettings): the first submit is parked, a second too; a third is refused 429.
        using var client = await ClientAsync(maxConcurrent: 1);
        var (running, gate) = await client.SubmitAtGateAsync();
        try
        {
            var key = NewKey();
            var first = (await (await SubmitAsync(client, "/jobs/submit", Echo, key)).ReadObjectAsync()).Str("job_id");
            await client.SubmitAsync("echo", new { message = "fills the queue" });
            using var full = await SubmitAsync(client, "/jobs/submit", Echo, NewKey());

            using var retry = await SubmitAsync(client, "/jobs/submit", Echo, key);
            var body = await retry.ReadObjectAsync();

            Assert.Multiple(() =>
            {
                Assert.That(full.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the key is at its bound");
                Assert.That(retry.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToJsonString());
                Assert.That(body.Str("job_id"), Is.EqualTo(first));
            });
        }
        finally
        {
            GateTool.Open(gate);
            await client.WaitForFinalAsync(running);
        }
    }

    /// <summary>
    /// The same at the key's bound of queued jobs: the submit that stores the job takes the last place, and the others'
    /// inserts, under the bound no more, store nothing without meeting the unique index; they answer that job, not 429.
    /// Another key's job holds the one worker, so that the key's jobs stay queued.
    /// </summary>
    [TestCase(null)]
    [TestCase(1)]
    public async Task ManySubmitsWithOneKeyAtOnce_TakingTheKeysLastPlace_MakeOneJob(int? maxConcurrent)
    {
        using var blocker = await ClientAsync();
        var (running, gate) = await blocker.SubmitAtGateAsync();
        try
        {
            using var client = await ClientAsync(maxConcurrent: maxConcurrent);
            await client.SubmitAsync("echo", new { message = "one of the two places" });
            var key = NewKey();

            var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
            {
                using var response = await SubmitAsync(client, "/jobs/submit", Echo, key);
                return (response.StatusCode, Body: await response.ReadObjectAsync());
            }));

            Assert.Multiple(async () =>
            {
                Assert.That(answers.Select(a => a.StatusCode), Is.All.EqualTo(HttpStatusCode.Accepted), string.Join("\n", answers.Select(a => a.Body.ToJsonString())));
                Assert.That(answers.Select(a => a.Body.Str("job_id")).Distinct().Count(), Is.EqualTo(1));
                Assert.That(await JobsWithKeyAsync(key), Is.EqualTo(1));
            });
        }
        finally
        {
            GateTool.Open(gate);
            await blocker.WaitForFinalAsync(running);
        }
    }

    /// <summary>
    /// A retry is answered its job though the tool was removed since (a plugin taken out, the server restarted): the job
    /// was made, and a new submit of that tool is 404. The estimate of a tool no longer there is 0.
    /// </summary>
    [Test]
    public async Task ARetryOfAJobWhoseToolWasRemovedSince_IsAnsweredItsJob()
    {
        var created = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(created.ApiKey);
        var key = NewKey();
        var job = Ledger.Job(created.KeyId, "removed_since", JobStatus.Completed, idempotencyKey: key);
        await App.AddJobsAsync([job]);
        var submit = new { tool = "removed_since", arguments = new { message = "seeded" } };

        using var retried = await SubmitAsync(client, "/jobs/submit", submit, key);
        var body = await retried.ReadObjectAsync();
        using var unkeyed = await client.PostJsonAsync("/jobs/submit", submit);

        Assert.Multiple(async () =>
        {
            Assert.That(retried.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToJsonString());
            Assert.That(body.Str("job_id"), Is.EqualTo(job.Id));
            Assert.That(body.Str("tool"), Is.EqualTo("removed_since"));
            Assert.That(body["estimated_duration_ms"]!.GetValue<long>(), Is.EqualTo(0));
            Assert.That(retried.Headers.Contains("Idempotent-Replayed"), Is.True);
            Assert.That(unkeyed.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the tool is gone for a new submit");
            Assert.That((await unkeyed.ReadObjectAsync()).Str("error.code"), Is.EqualTo("TOOL_NOT_FOUND"));
        });
    }

    // One worker: a job at a gate keeps the others queued.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:MaxQueuedPerKey"] = "2",
        ["Jobs:WorkerCount"] = "1",
    };

    private async Task<HttpClient> ClientAsync(bool admin = false, int? maxConcurrent = null)
    {
        var created = await App.CreateKeyAsync("pro", admin);
        var limits = maxConcurrent is null
            ? (object)new { requests_per_minute = 1_000_000 }
            : new { requests_per_minute = 1_000_000, max_concurrent = maxConcurrent };
        (await Admin.PatchAsJsonAsync($"/api_keys/{created.KeyId}", new { rate_limits = limits })).EnsureSuccessStatusCode();
        return App.CreateClient(created.ApiKey);
    }

    private static string NewKey() => Guid.NewGuid().ToString();

    private static Task<HttpResponseMessage> SubmitAsync(HttpClient client, string route, object body, string key) =>
        SendAsync(client, route, JsonContent.Create(body, options: Infrastructure.Json.Options), key);

    private static Task<HttpResponseMessage> SubmitRawAsync(HttpClient client, string route, string body, string key) =>
        SendAsync(client, route, new StringContent(body, Encoding.UTF8, "application/json"), key);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string route, HttpContent content, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = content };
        request.Headers.Add("Idempotency-Key", key);
        return await client.SendAsync(request);
    }

    private async Task<int> JobsWithKeyAsync(string key)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.CountAsync(j => j.IdempotencyKey == key);
    }

    private static async Task<int> ListedAsync(HttpClient client) =>
        (await (await client.GetAsync("/jobs?status=all")).ReadObjectAsync()).At("pagination.total")!.GetValue<int>();
}
