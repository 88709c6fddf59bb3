using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.TestTools;

namespace AgentCorex.Tests.Jobs;

/// <summary>DELETE /jobs/{id} on one worker, so that queued jobs really wait behind a running one.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobCancelTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "1" };

    private HttpClient user = null!;

    [OneTimeSetUp]
    public async Task CreateUser() => user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);

    [OneTimeTearDown]
    public void DisposeUser() => user.Dispose();

    [TearDown]
    public async Task FreeTheWorker()
    {
        // Each test leaves the single worker idle for the next: anything still running is force-canceled.
        var running = await (await Admin.GetAsync("/jobs?status=running&limit=100")).ReadObjectAsync();
        foreach (var job in running["jobs"]!.AsArray())
        {
            await Admin.DeleteAsync($"/jobs/{job.Str("job_id")}?force=true");
        }
    }

    [Test]
    public async Task QueuedJobs_ReportTheirPositionInQueue()
    {
        var blocker = await user.SubmitAsync("wait", new { duration_ms = 30_000 });
        await user.WaitForStatusAsync(blocker, "running");

        var queued = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            queued.Add(await user.SubmitAsync("echo", new { message = $"#{i}" }));
        }

        for (var i = 0; i < 3; i++)
        {
            var job = await user.GetJobAsync(queued[i]);
            Assert.That(job.Str("status"), Is.EqualTo("queued"));
            Assert.That(job["position_in_queue"]!.GetValue<int>(), Is.EqualTo(i + 1));
        }
        Assert.That((await user.DeleteAsync($"/jobs/{queued[0]}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await user.GetJobAsync(queued[2]))["position_in_queue"]!.GetValue<int>(), Is.EqualTo(2), "a canceled job no longer counts");
    }

    [Test]
    public async Task CancelQueued_ReturnsCanceled_AndTheJobNeverRuns()
    {
        var blocker = await user.SubmitAsync("wait", new { duration_ms = 30_000 });
        await user.WaitForStatusAsync(blocker, "running");
        var queued = await user.SubmitAsync("test_record", new { label = "never" });

        var response = await user.DeleteAsync($"/jobs/{queued}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await response.ReadObjectAsync();
        Assert.That(body.ToJsonString(), Is.EqualTo($$"""{"job_id":"{{queued}}","status":"canceled","message":"Job canceled successfully"}"""));

        Assert.That((await user.DeleteAsync($"/jobs/{blocker}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var follower = await user.SubmitAsync("test_record", new { label = "after" });
        await user.WaitForStatusAsync(follower, "completed");
        var job = await user.GetJobAsync(queued);
        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("canceled"));
            Assert.That(job["completed_at"], Is.Not.Null);
            Assert.That(job["started_at"], Is.Null);
            Assert.That(RecordTool.Runs.ContainsKey(queued), Is.False, "the canceled job never ran, though the worker has run the one after it");
        });
    }

    [Test]
    public async Task CancelRunning_WithoutForce_IsRefused()
    {
        var running = await user.SubmitAsync("wait", new { duration_ms = 30_000 });
        await user.WaitForStatusAsync(running, "running");

        var response = await user.DeleteAsync($"/jobs/{running}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("CANNOT_CANCEL_RUNNING"));
        Assert.That(body.Str("error.message"), Is.EqualTo("Cannot cancel a job that is already running"));
        Assert.That((await user.GetJobAsync(running)).Str("status"), Is.EqualTo("running"));
    }

    [Test]
    public async Task ForcedCancel_StopsTheTool_AndEndsTheJobCanceled_WithinASecond()
    {
        var running = await user.SubmitAsync("wait", new { duration_ms = 30_000, steps = 30 });
        await user.WaitForStatusAsync(running, "running");

        var response = await user.DeleteAsync($"/jobs/{running}?force=true");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var job = await user.WaitForStatusAsync(running, "canceled", within: TimeSpan.FromSeconds(1));
        Assert.That(job["completed_at"], Is.Not.Null);
        // The tool's token fired: the single worker is free again at once, not after 30 s.
        var next = await user.SubmitAsync("echo", new { message = "next" });
        await user.WaitForStatusAsync(next, "completed", within: TimeSpan.FromSeconds(3));
    }

    [Test]
    public async Task ForcedCancel_OfAToolWhoseTokenCallbackThrows_IsAnsweredCanceled_AndStopsTheTool()
    {
        // Cancel runs the token's callbacks inline and throws what they threw: the cancel, already stored, was answered
        // 500, and what follows it (the Hangfire job's state, the event, the slot's hand-over) was skipped.
        var running = await user.SubmitAsync("test_throwing_callback", new { duration_ms = 30_000 });
        await user.WaitForJobAsync(running, j => j.Str("progress.current_step") == "registered");

        var response = await user.DeleteAsync($"/jobs/{running}?force=true");

        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body.Str("status"), Is.EqualTo("canceled"));
        await user.WaitForStatusAsync(running, "canceled", within: TimeSpan.FromSeconds(1));
        // The tool's token fired all the same: the single worker is free again at once, not after 30 s.
        var next = await user.SubmitAsync("echo", new { message = "next" });
        await user.WaitForStatusAsync(next, "completed", within: TimeSpan.FromSeconds(3));
    }

    [Test]
    public async Task CancelFinished_ReturnsAlreadyFinished()
    {
        var done = await user.SubmitAsync("echo", new { message = "x" });
        await user.WaitForStatusAsync(done, "completed");

        var response = await user.DeleteAsync($"/jobs/{done}");
        var forced = await user.DeleteAsync($"/jobs/{done}?force=true");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("JOB_ALREADY_FINISHED"));
        Assert.That(forced.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await user.GetJobAsync(done)).Str("status"), Is.EqualTo("completed"));
    }

    [Test]
    public async Task CancelRacingTheStart_EndsInExactlyOneOutcome()
    {
        // Jobs submitted and canceled at once race the worker: each must end canceled and never run,
        // or run and finish, with a DELETE answer that agrees.
        for (var i = 0; i < 40; i++)
        {
            var jobId = await user.SubmitAsync("test_record", new { label = $"race-{i}" });
            var cancel = await user.DeleteAsync($"/jobs/{jobId}");
            var answer = await cancel.ReadObjectAsync();
            var final = await user.WaitForFinalAsync(jobId);

            if (cancel.StatusCode == HttpStatusCode.OK)
            {
                Assert.That(final.Str("status"), Is.EqualTo("canceled"));
                await Task.Delay(20); // a run that slipped through would have recorded itself by now
                Assert.That(RecordTool.Runs.ContainsKey(jobId), Is.False, $"{jobId} was canceled, yet it ran");
            }
            else
            {
                Assert.That(answer.Str("error.code"), Is.AnyOf("CANNOT_CANCEL_RUNNING", "JOB_ALREADY_FINISHED"));
                Assert.That(final.Str("status"), Is.EqualTo("completed"));
                Assert.That(RecordTool.Runs[jobId], Is.EqualTo(1));
            }
        }
    }
}
