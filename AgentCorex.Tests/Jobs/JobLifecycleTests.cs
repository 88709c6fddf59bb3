using System.Diagnostics;
using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>Submit, run and read jobs: each status of the contract, as GET /jobs/{id} shows it.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobLifecycleTests(TestStorage storage) : ServerTest(storage)
{
    private HttpClient user = null!;

    [OneTimeSetUp]
    public async Task CreateUser() => user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);

    [OneTimeTearDown]
    public void DisposeUser() => user.Dispose();

    [Test]
    public async Task Submit_ReturnsAccepted_WithLocationAndQueuedJob()
    {
        var response = await user.PostJsonAsync("/jobs/submit", new { tool = "wait", arguments = new { duration_ms = 10 } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("job_id"), Does.Match("^job_[a-z0-9]{12}$"));
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo($"/jobs/{body.Str("job_id")}"));
            Assert.That(body.Str("status"), Is.EqualTo("queued"));
            Assert.That(body.Str("tool"), Is.EqualTo("wait"));
            Assert.That(body["created_at"]!.GetValue<long>(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
            Assert.That(body["estimated_duration_ms"]!.GetValue<long>(), Is.GreaterThan(0));
        });
    }

    [Test]
    public async Task Submit_ValidatesToolAndArguments_BeforeStoringAnything()
    {
        var key = await App.CreateKeyAsync();
        using var client = App.CreateClient(key.ApiKey);

        var unknown = await client.PostJsonAsync("/jobs/submit", new { tool = "deploy_to_aws", arguments = new { } });
        var invalid = await client.PostJsonAsync("/jobs/submit", new { tool = "wait", arguments = new { duration_ms = -1 } });
        var badTimeout = await client.PostJsonAsync("/jobs/submit", new { tool = "wait", arguments = new { duration_ms = 1 }, timeout_ms = 86_400_001 });

        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var unknownBody = await unknown.ReadObjectAsync();
        Assert.That(unknownBody.Str("error.code"), Is.EqualTo("TOOL_NOT_FOUND"));
        Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var invalidBody = await invalid.ReadObjectAsync();
        Assert.That(invalidBody.Str("error.argument"), Is.EqualTo("duration_ms"));
        // Exactly as POST /execute_tool answers them: the tool asked for, and the execution's status.
        Assert.That((unknownBody.Str("tool"), unknownBody.Str("status")), Is.EqualTo(("deploy_to_aws", "error")));
        Assert.That((invalidBody.Str("tool"), invalidBody.Str("status")), Is.EqualTo(("wait", "error")));
        Assert.That(badTimeout.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await badTimeout.ReadObjectAsync()).Str("error.argument"), Is.EqualTo("timeout_ms"));
        var listed = await (await client.GetAsync("/jobs")).ReadObjectAsync();
        Assert.That(listed.At("pagination.total")!.GetValue<int>(), Is.Zero, "nothing was stored");
    }

    [Test]
    public async Task Job_WhoseResultCannotBeWrittenAsJson_FailsAtOnce_AsAnExecutionError()
    {
        var jobId = await user.SubmitAsync("test_bad_result", new { });

        var job = await user.WaitForFinalAsync(jobId, within: TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("failed"));
            Assert.That(job.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(job.Str("error.message"), Does.StartWith("The tool's result cannot be written as JSON"));
        });
    }

    [Test]
    public async Task ExecuteTool_InAsyncMode_SubmitsAJob()
    {

        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "later" }, mode = "async" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var jobId = (await response.ReadObjectAsync()).Str("job_id")!;
        var done = await Admin.WaitForStatusAsync(jobId, "completed");
        Assert.That(done.Str("result.message"), Is.EqualTo("later"));
    }

    [Test]
    public async Task HangfireJob_EnqueuedBeforeTheOwnerWasAnArgument_StillRuns()
    {
        var key = await App.CreateKeyAsync();
        using var client = App.CreateClient(key.ApiKey);
        var job = Ledger.Job(key.KeyId, "echo", JobStatus.Queued);
        job.Attempt = 0;
        await App.AddJobsAsync([job]);

        App.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<ToolJob>(run => run.RunAsync(job.Id, job.Tool, null, CancellationToken.None));

        var done = await client.WaitForFinalAsync(job.Id);
        Assert.That(done.Str("status"), Is.EqualTo("completed"));
        Assert.That(done.Str("result.message"), Is.EqualTo("seeded"));
    }

    [Test]
    public async Task Submit_StoresArguments_WithoutTheWhiteSpaceBetweenTokens_AndRunsThemAsSent()
    {
        // A body of valid JSON mostly padding: the ledger keeps every job, and reads its arguments at each start.
        var pad = new string(' ', 100_000) + "\r\n\t";
        var arguments = $$"""{{pad}}{ "target" :{{pad}}{ "host" : "a \"b\" \u00e9 ü 😀 ", "port" : 1 } , "tags" : [ "x" ,{{pad}}"y" ] }{{pad}}""";
        var response = await user.PostRawAsync("/jobs/submit", $$"""{"tool":"test_nested","arguments":{{arguments}}}""");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        var jobId = (await response.ReadObjectAsync()).Str("job_id")!;

        var job = await user.WaitForFinalAsync(jobId);

        await using var scope = App.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<JobLedger>().FindAsync(jobId, CancellationToken.None);
        Assert.Multiple(() =>
        {
            // The strings' escapes as the client wrote them, not an encoder's.
            Assert.That(stored!.Arguments, Is.EqualTo("""{"target":{"host":"a \"b\" \u00e9 ü 😀 ","port":1},"tags":["x","y"]}"""));
            Assert.That(job.Str("result.address"), Is.EqualTo("a \"b\" é ü 😀 :1"));
        });
    }

    [Test]
    public async Task Job_Completes_WithResultTimesAndTokens()
    {
        var jobId = await user.SubmitAsync("test_nested", new { target = new { host = "h", port = 1 }, tags = new[] { "x" } });

        var job = await user.WaitForFinalAsync(jobId);

        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("completed"));
            Assert.That(job.Str("tool"), Is.EqualTo("test_nested"));
            Assert.That(job.Str("result.address"), Is.EqualTo("h:1"));
            Assert.That(job["execution_time_ms"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(0));
            Assert.That(job.At("tokens_used.input")!.GetValue<long>(), Is.EqualTo(2));
            Assert.That(job.At("tokens_used.output")!.GetValue<long>(), Is.EqualTo(7));
            Assert.That(job["started_at"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(job["created_at"]!.GetValue<long>()));
            Assert.That(job["completed_at"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(job["started_at"]!.GetValue<long>()));
            Assert.That(job["position_in_queue"], Is.Null);
            Assert.That(job["error"], Is.Null);
        });
    }

    [Test]
    public async Task Job_Fails_WithErrorCodeMessageAndDetails()
    {
        var jobId = await user.SubmitAsync("fail", new { message = "no permission", code = "INSUFFICIENT_PERMISSIONS" });

        var job = await user.WaitForFinalAsync(jobId);

        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("failed"));
            Assert.That(job.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(job.Str("error.message"), Is.EqualTo("no permission"));
            Assert.That(job.Str("error.details.tool_code"), Is.EqualTo("INSUFFICIENT_PERMISSIONS"));
            Assert.That(job["completed_at"], Is.Not.Null);
            Assert.That(job["result"], Is.Null);
        });
    }

    [Test]
    public async Task Job_TimesOut_WithinASecond_EvenWhenToolIgnoresItsToken()
    {
        var jobId = await user.SubmitAsync("test_ignore_token", new { duration_ms = 8000 }, timeoutMs: 300);
        var watch = Stopwatch.StartNew();

        var job = await user.WaitForFinalAsync(jobId, within: TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("timeout"));
            Assert.That(job.Str("error.code"), Is.EqualTo("EXECUTION_TIMEOUT"));
            Assert.That(job.Str("error.message"), Is.EqualTo("Tool execution exceeded 300ms timeout"));
            Assert.That((long?)job["error"]?["details"]?["timeout_ms"], Is.EqualTo(300));
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "the tool would have blocked for 8 s");
        });
    }

    [Test]
    public async Task RunningJob_ShowsProgress_AsTheToolReportsIt()
    {
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 3000, steps = 6 });

        var running = await user.WaitForJobAsync(jobId, j => j.Str("status") == "running" && j.At("progress.percentage")!.GetValue<int>() >= 33);

        Assert.Multiple(() =>
        {
            Assert.That(running.Str("progress.current_step"), Does.Match("^step-[2-6]$"));
            Assert.That(running.At("progress.total_steps")!.GetValue<int>(), Is.EqualTo(6));
            Assert.That(running["started_at"], Is.Not.Null);
            Assert.That(running["completed_at"], Is.Null);
        });
        var done = await user.WaitForFinalAsync(jobId);
        Assert.That(done.Str("status"), Is.EqualTo("completed"));
        Assert.That(done.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(3000));
    }

    [Test]
    public async Task RunningJob_BeforeItsFirstStep_ShowsTheStepsItWillTake()
    {
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 4000, steps = 4 });

        // The first step is reached after 1 s; until then the job says how many it will take.
        var running = await user.WaitForJobAsync(jobId, j => j.Str("status") == "running" && j["progress"]?["total_steps"]?.GetValue<int>() == 4);
        await user.DeleteAsync($"/jobs/{jobId}?force=true");

        Assert.Multiple(() =>
        {
            Assert.That(running.Str("progress.current_step"), Is.EqualTo("starting"));
            Assert.That(running.At("progress.percentage")!.GetValue<int>(), Is.Zero);
        });
    }

    [Test]
    public async Task Job_OfAnotherKey_IsNotFound_ButAdminSeesIt()
    {
        var jobId = await user.SubmitAsync("echo", new { message = "mine" });
        using var stranger = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var get = await stranger.GetAsync($"/jobs/{jobId}");
        var delete = await stranger.DeleteAsync($"/jobs/{jobId}");
        var missing = await stranger.GetAsync("/jobs/job_doesnotexist");

        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await get.ReadObjectAsync()).Str("error.code"), Is.EqualTo("JOB_NOT_FOUND"));
        Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await missing.ReadObjectAsync()).ToJsonString(),
            Is.EqualTo((await get.ReadObjectAsync()).ToJsonString().Replace(jobId, "job_doesnotexist")), "another key's job looks exactly like a missing one");
        Assert.That((await Admin.GetAsync($"/jobs/{jobId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task AnAbsurdlyLongJobId_IsNotFound_AndNotEchoedInFull()
    {
        var id = "job_" + new string('x', 5000);

        var response = await user.GetAsync($"/jobs/{id}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var message = (await response.ReadObjectAsync()).Str("error.message")!;
        Assert.That(message, Does.StartWith("Job job_xxx").And.EndWith("... does not exist"));
        Assert.That(message.Length, Is.LessThan(100));
    }

    [Test]
    public async Task EstimatedDuration_IsTheMeanOfRecentCompletedRuns()
    {
        var first = await user.SubmitAsync("test_side_effect", new { duration_ms = 100 });
        var second = await user.SubmitAsync("test_side_effect", new { duration_ms = 300 });
        var times = new List<long>();
        foreach (var id in new[] { first, second })
        {
            times.Add((await user.WaitForStatusAsync(id, "completed"))["execution_time_ms"]!.GetValue<long>());
        }
        await Task.Delay(TimeSpan.FromSeconds(5.5)); // estimates are cached for 5 s

        var response = await user.PostJsonAsync("/jobs/submit", new { tool = "test_side_effect", arguments = new { duration_ms = 1 } });

        var estimate = (await response.ReadObjectAsync())["estimated_duration_ms"]!.GetValue<long>();
        Assert.That(estimate, Is.EqualTo((long)Math.Round(times.Average())).Within(1));
    }

    [Test]
    public async Task HangfireStates_MatchTheJobStatuses()
    {
        var completed = await user.SubmitAsync("echo", new { message = "x" });
        var failed = await user.SubmitAsync("fail", new { message = "x" });
        var timedOut = await user.SubmitAsync("wait", new { duration_ms = 10_000 }, timeoutMs: 100);
        var canceled = await user.SubmitAsync("wait", new { duration_ms = 10_000 });
        await user.WaitForStatusAsync(canceled, "running");
        Assert.That((await user.DeleteAsync($"/jobs/{canceled}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        foreach (var id in new[] { completed, failed, timedOut, canceled })
        {
            await user.WaitForFinalAsync(id);
        }

        var storage = App.Services.GetRequiredService<JobStorage>();
        var monitoring = storage.GetMonitoringApi();
        var states = new Dictionary<string, string>();
        await WaitUntilAsync(() =>
        {
            foreach (var (id, hangfireId) in HangfireIds(completed, failed, timedOut, canceled))
            {
                states[id] = monitoring.JobDetails(hangfireId).History.FirstOrDefault()?.StateName ?? "";
            }
            return states.Values.All(s => s is "Succeeded" or "Failed" or "Timeout" or "Canceled");
        });

        Assert.Multiple(() =>
        {
            Assert.That(states[completed], Is.EqualTo("Succeeded"));
            Assert.That(states[failed], Is.EqualTo("Failed"));
            Assert.That(states[timedOut], Is.EqualTo("Timeout"));
            Assert.That(states[canceled], Is.EqualTo("Canceled"));
        });
        var failedHistory = monitoring.JobDetails(HangfireIds(failed).Single().Value).History;
        Assert.That(failedHistory.Count(h => h.StateName == "Processing"), Is.EqualTo(1), "a failed tool is not retried");
    }

    /// <summary>The Hangfire job that ran each job, as the ledger recorded it at start.</summary>
    private List<KeyValuePair<string, string>> HangfireIds(params string[] jobIds)
    {
        using var scope = App.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        return [.. jobIds.Select(id => new KeyValuePair<string, string>(id, db.Jobs.Single(j => j.Id == id).HangfireId!))];
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not met in time");
            await Task.Delay(20);
        }
    }
}
