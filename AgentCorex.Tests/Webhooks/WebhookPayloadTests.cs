using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// What each event's payload says of its job: the contract's fields first, then the times and figures that
/// GET /jobs/{id} shows in the event's status, with the values GET answers once the job has ended.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookPayloadTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>();

    private static readonly string[] Queued = ["job_id", "status", "tool", "created_at"];
    // Its attempt is the run's: GET does not show it, and the first run is 1.
    private static readonly string[] Started = ["job_id", "status", "tool", "created_at", "started_at", "attempt"];

    private async Task<HttpClient> NewUserAsync(string plan = "pro") => App.CreateClient((await App.CreateKeyAsync(plan)).ApiKey);

    [Test]
    public async Task CompletedJob_EachEventCarriesWhatGetShows_TokensIncluded()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint);

        var jobId = await user.SubmitAsync("test_nested", new { target = new { host = "h", port = 1 }, tags = new[] { "x" } });
        var sent = await SentByEventAsync(endpoint, 3);
        var got = await user.WaitForFinalAsync(jobId);

        AssertAgrees(sent["job.queued"], got, Queued);
        AssertAgrees(sent["job.started"], got, Started);
        AssertAgrees(sent["job.completed"], got,
            ["job_id", "status", "tool", "result", "created_at", "started_at", "completed_at", "execution_time_ms", "tokens_used"]);
        Assert.That(sent["job.completed"].At("tokens_used")!.ToJsonString(), Is.EqualTo("""{"input":2,"output":7}"""));
    }

    [TestCase("fail", """{"message":"it broke","code":"BROKEN"}""", null, "job.failed")]
    [TestCase("wait", """{"duration_ms":5000}""", 100, "job.timeout")]
    public async Task JobEndedInError_CarriesItsEndAndExecutionTime_AsGetShowsThem(string tool, string arguments, int? timeoutMs, string ended)
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint);

        var jobId = await user.SubmitAsync(tool, JsonNode.Parse(arguments)!, timeoutMs);
        var sent = await SentByEventAsync(endpoint, 3);
        var got = await user.WaitForFinalAsync(jobId);

        AssertAgrees(sent["job.queued"], got, Queued);
        AssertAgrees(sent["job.started"], got, Started);
        AssertAgrees(sent[ended], got, ["job_id", "status", "tool", "error", "created_at", "started_at", "completed_at", "execution_time_ms"]);
    }

    [Test]
    public async Task CanceledRunningJob_CarriesItsStartAndEnd_AsGetShowsThem()
    {
        using var user = await NewUserAsync();
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint);

        var jobId = await user.SubmitAsync("wait", new { duration_ms = 10_000 });
        await user.WaitForStatusAsync(jobId, "running");
        Assert.That((await user.DeleteAsync($"/jobs/{jobId}?force=true")).IsSuccessStatusCode, Is.True);
        var sent = await SentByEventAsync(endpoint, 3);
        var got = await user.GetJobAsync(jobId);

        AssertAgrees(sent["job.queued"], got, Queued);
        AssertAgrees(sent["job.started"], got, Started);
        AssertAgrees(sent["job.canceled"], got, ["job_id", "status", "tool", "created_at", "started_at", "completed_at"]);
    }

    [Test]
    public async Task CanceledQueuedJob_CarriesNoStart_AndNoPlaceInTheQueue()
    {
        // A free key runs one job at once: its second waits, parked, behind the first.
        using var user = await NewUserAsync(plan: "free");
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.queued", "job.canceled");
        var first = await user.SubmitAsync("wait", new { duration_ms = 10_000 });

        var second = await user.SubmitAsync("wait", new { duration_ms = 10 });
        Assert.That((await user.DeleteAsync($"/jobs/{second}")).IsSuccessStatusCode, Is.True);
        var sent = (await Receiver.WaitForAsync(endpoint, 3))
            .Where(r => r.Json.Str("job.job_id") == second)
            .ToDictionary(r => r.Event!, r => r.Json["job"]!.AsObject());
        var got = await user.GetJobAsync(second);
        await user.DeleteAsync($"/jobs/{first}?force=true");

        AssertAgrees(sent["job.queued"], got, Queued);
        AssertAgrees(sent["job.canceled"], got, ["job_id", "status", "tool", "created_at", "completed_at"]);
    }

    [Test]
    public async Task JobStartedByAHangfireJobWithoutItsOwner_CarriesTheStartGetShows()
    {
        // Such a Hangfire job (enqueued before the owner was one of its arguments) starts the job by the ledger's
        // other start, which does not read the started row back.
        var key = await App.CreateKeyAsync(plan: "pro");
        using var user = App.CreateClient(key.ApiKey);
        var endpoint = Receiver.NewEndpoint();
        await user.RegisterWebhookAsync(endpoint, "job.started");
        var job = Ledger.Job(key.KeyId, "echo", JobStatus.Queued);
        job.Attempt = 0;
        await App.AddJobsAsync([job]);

        App.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<ToolJob>(run => run.RunAsync(job.Id, job.Tool, null, CancellationToken.None));
        var sent = (await Receiver.WaitForAsync(endpoint, 1)).Single().Json["job"]!.AsObject();
        var got = await user.WaitForFinalAsync(job.Id);

        AssertAgrees(sent, got, Started);
    }

    private async Task<Dictionary<string, JsonObject>> SentByEventAsync(string endpoint, int count) =>
        (await Receiver.WaitForAsync(endpoint, count)).ToDictionary(r => r.Event!, r => r.Json["job"]!.AsObject());

    /// <summary>
    /// The payload's job has these fields, in this order, each but its status (the event's) as GET answers it; a
    /// started job's attempt, which GET does not show, is its first.
    /// </summary>
    private static void AssertAgrees(JsonObject sent, JsonObject got, string[] fields)
    {
        Assert.Multiple(() =>
        {
            Assert.That(sent.Select(p => p.Key), Is.EqualTo(fields), sent.ToJsonString());
            if (fields.Contains("attempt"))
            {
                Assert.That(sent["attempt"]?.GetValue<int>(), Is.EqualTo(1), sent.ToJsonString());
            }
            foreach (var field in fields.Where(f => f is not "status" and not "attempt"))
            {
                Assert.That(JsonNode.DeepEquals(sent[field], got[field]), Is.True, $"{field}: sent {sent.ToJsonString()}, GET {got.ToJsonString()}");
            }
        });
    }
}
