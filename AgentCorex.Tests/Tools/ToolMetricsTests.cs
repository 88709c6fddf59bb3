using System.Net;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Tests.Tools;

/// <summary>
/// GET /tools/{name}/metrics on one worker, so that a job can be held queued behind a running one.
/// Each test's own keys keep its counts apart; only the admin test reads across keys, on a tool
/// (test_record) that no other test here runs.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ToolMetricsTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "1" };

    [TearDown]
    public async Task FreeTheWorker()
    {
        var running = await (await Admin.GetAsync("/jobs?status=running&limit=100")).ReadObjectAsync();
        foreach (var job in running["jobs"]!.AsArray())
        {
            await Admin.DeleteAsync($"/jobs/{job.Str("job_id")}?force=true");
        }
    }

    [Test]
    public async Task Metrics_CountEachOutcome_AndRateThemOverFinishedJobs()
    {
        using var client = await NewKeyClientAsync();
        var blocker = await client.SubmitAsync("test_side_effect", new { duration_ms = 60_000 });
        await client.WaitForStatusAsync(blocker, "running");
        var canceled = await client.SubmitAsync("wait", new { duration_ms = 0 });
        Assert.That((await client.DeleteAsync($"/jobs/{canceled}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.DeleteAsync($"/jobs/{blocker}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var fast = await RunAsync(client, "wait", new { duration_ms = 20 });
        var slow = await RunAsync(client, "wait", new { duration_ms = 60 });
        var timedOut = await RunAsync(client, "wait", new { duration_ms = 5_000 }, timeoutMs: 100);

        var metrics = await GetMetricsAsync(client, "wait");

        Assert.That(fast.Str("status"), Is.EqualTo("completed"));
        Assert.That(slow.Str("status"), Is.EqualTo("completed"));
        Assert.That(timedOut.Str("status"), Is.EqualTo("timeout"));
        var (fastMs, slowMs) = (ExecutionTimeMs(fast), ExecutionTimeMs(slow));
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Str("tool"), Is.EqualTo("wait"));
            Assert.That(Int(metrics, "total_jobs"), Is.EqualTo(4));
            Assert.That(Int(metrics, "completed"), Is.EqualTo(2));
            Assert.That(Int(metrics, "failed"), Is.Zero);
            Assert.That(Int(metrics, "timeout"), Is.EqualTo(1));
            Assert.That(Int(metrics, "canceled"), Is.EqualTo(1));
            Assert.That(Real(metrics, "success_rate"), Is.EqualTo(2.0 / 4));
            Assert.That(Real(metrics, "failure_rate"), Is.Zero);
            // over the two completed runs only: p95 of two is rank ceil(1.9) = 2, the longer one
            Assert.That(Real(metrics, "avg_execution_time_ms"), Is.EqualTo((fastMs + slowMs) / 2.0));
            Assert.That(metrics["p95_execution_time_ms"]!.GetValue<long>(), Is.EqualTo(Math.Max(fastMs, slowMs)));
        });
    }

    [Test]
    public async Task Metrics_OfOnlyFailedJobs_HaveAFailureRateOfOne_AndNullTimes()
    {
        using var client = await NewKeyClientAsync();
        await RunAsync(client, "fail", new { message = "one" });
        await RunAsync(client, "fail", new { message = "two" });

        var metrics = await GetMetricsAsync(client, "fail");

        Assert.That(metrics.ToJsonString(), Is.EqualTo(
            """{"tool":"fail","total_jobs":2,"completed":0,"failed":2,"timeout":0,"canceled":0,"success_rate":0,"failure_rate":1,"avg_execution_time_ms":null,"p95_execution_time_ms":null}"""));
    }

    [Test]
    public async Task Metrics_WithNoJobs_AreZeros_AndNullTimes()
    {
        using var client = await NewKeyClientAsync();

        var metrics = await GetMetricsAsync(client, "echo");

        Assert.That(metrics.ToJsonString(), Is.EqualTo(
            """{"tool":"echo","total_jobs":0,"completed":0,"failed":0,"timeout":0,"canceled":0,"success_rate":0,"failure_rate":0,"avg_execution_time_ms":null,"p95_execution_time_ms":null}"""));
    }

    [Test]
    public async Task Metrics_LeaveOutOtherKeysJobs()
    {
        using var alice = await NewKeyClientAsync();
        using var bob = await NewKeyClientAsync();
        await RunAsync(alice, "echo", new { message = "a" });
        await RunAsync(bob, "echo", new { message = "b1" });
        await RunAsync(bob, "echo", new { message = "b2" });

        Assert.That(Int(await GetMetricsAsync(alice, "echo"), "total_jobs"), Is.EqualTo(1));
        Assert.That(Int(await GetMetricsAsync(bob, "echo"), "total_jobs"), Is.EqualTo(2));
    }

    [Test]
    public async Task Metrics_ForAnAdminKey_CoverEveryKeysJobs()
    {
        using var alice = await NewKeyClientAsync();
        using var bob = await NewKeyClientAsync();
        await RunAsync(alice, "test_record", new { label = "a" });
        await RunAsync(bob, "test_record", new { label = "b1" });
        await RunAsync(bob, "test_record", new { label = "b2" });

        var all = await GetMetricsAsync(Admin, "test_record");

        Assert.That(Int(all, "total_jobs"), Is.EqualTo(3));
        Assert.That(Int(all, "completed"), Is.EqualTo(3));
        Assert.That(Int(await GetMetricsAsync(alice, "test_record"), "total_jobs"), Is.EqualTo(1));
    }

    [Test]
    public async Task Metrics_TakeTheNearestRankP95_OfCompletedJobsOnly()
    {
        var key = await App.CreateKeyAsync();
        // Straight into the ledger, as real runs' times cannot be chosen: twenty completed runs of 10, 20, ...,
        // 200 ms stored out of order; a failed and a timed-out run far longer; a canceled job; and a running
        // one, which is not finished (the teardown cancels it).
        List<JobEntry> jobs = [.. Enumerable.Range(1, 20).Select(k => Ledger.Job(key.KeyId, "echo", JobStatus.Completed, (7 * k % 20 + 1) * 10))];
        jobs.Add(Ledger.Job(key.KeyId, "echo", JobStatus.Failed, 5_000));
        jobs.Add(Ledger.Job(key.KeyId, "echo", JobStatus.Timeout, 9_000));
        jobs.Add(Ledger.Job(key.KeyId, "echo", JobStatus.Canceled));
        jobs.Add(Ledger.Job(key.KeyId, "echo", JobStatus.Running));
        await App.AddJobsAsync(jobs);
        using var client = App.CreateClient(key.ApiKey);

        var metrics = await GetMetricsAsync(client, "echo");

        Assert.Multiple(() =>
        {
            Assert.That(Int(metrics, "total_jobs"), Is.EqualTo(24));
            Assert.That(Int(metrics, "completed"), Is.EqualTo(20));
            // 23 finished: all but the running one
            Assert.That(Real(metrics, "success_rate"), Is.EqualTo(20.0 / 23));
            Assert.That(Real(metrics, "failure_rate"), Is.EqualTo(1.0 / 23));
            Assert.That(Real(metrics, "avg_execution_time_ms"), Is.EqualTo(105.0));
            // rank ceil(0.95 * 20) = 19 of 10, 20, ..., 200
            Assert.That(metrics["p95_execution_time_ms"]!.GetValue<long>(), Is.EqualTo(190));
        });
    }

    [Test]
    public async Task Metrics_ReturnToolNotFound_ForAnUnknownTool_AsGetToolDoes()
    {
        using var client = await NewKeyClientAsync();

        var metrics = await client.GetAsync("/tools/deploy_to_aws/metrics");
        var tool = await client.GetAsync("/tools/deploy_to_aws");

        Assert.That(metrics.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await metrics.ReadObjectAsync()).ToJsonString(), Is.EqualTo((await tool.ReadObjectAsync()).ToJsonString()));
    }

    private async Task<HttpClient> NewKeyClientAsync() => App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);

    private static async Task<JsonObject> RunAsync(HttpClient client, string tool, object arguments, int? timeoutMs = null) =>
        await client.WaitForFinalAsync(await client.SubmitAsync(tool, arguments, timeoutMs));

    private static async Task<JsonObject> GetMetricsAsync(HttpClient client, string tool)
    {
        var response = await client.GetAsync($"/tools/{tool}/metrics");
        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }

    private static long ExecutionTimeMs(JsonObject job) => job["execution_time_ms"]!.GetValue<long>();

    private static int Int(JsonObject body, string name) => body[name]!.GetValue<int>();

    private static double Real(JsonObject body, string name) => body[name]!.GetValue<double>();
}
