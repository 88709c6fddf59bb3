using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace AgentCorex.Tests.Infrastructure;

public static class Jobs
{
    public static readonly string[] FinalStatuses = ["completed", "failed", "canceled", "timeout"];

    public static async Task<string> SubmitAsync(this HttpClient client, string tool, object arguments, int? timeoutMs = null)
    {
        var response = await client.PostJsonAsync("/jobs/submit", timeoutMs is null ? new { tool, arguments } : new { tool, arguments, timeout_ms = timeoutMs });
        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToJsonString());
        return body.Str("job_id")!;
    }

    /// <summary>POST /jobs/submit of <paramref name="body"/> with the Idempotency-Key header, sent as given (a value that is no key too).</summary>
    public static async Task<HttpResponseMessage> SubmitWithKeyAsync(this HttpClient client, string idempotencyKey, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/submit") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        return await client.SendAsync(request);
    }

    public static async Task<JsonObject> GetJobAsync(this HttpClient client, string jobId)
    {
        var response = await client.GetAsync($"/jobs/{jobId}");
        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        return body;
    }

    /// <summary>Polls the job until it satisfies the condition, failing after the deadline.</summary>
    public static async Task<JsonObject> WaitForJobAsync(this HttpClient client, string jobId, Func<JsonObject, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var job = await client.GetJobAsync(jobId);
            if (condition(job))
            {
                return job;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"job {jobId} did not reach the expected state in time; last seen: {job.ToJsonString()}");
            }
            await Task.Delay(20);
        }
    }

    public static Task<JsonObject> WaitForStatusAsync(this HttpClient client, string jobId, string status, TimeSpan? within = null) =>
        client.WaitForJobAsync(jobId, j => j.Str("status") == status, within);

    /// <summary>Submits a job of <see cref="TestTools.GateTool"/> at a gate of its own, and waits until its run waits there.</summary>
    /// <returns>The job, and its gate for <see cref="TestTools.GateTool.Open"/>.</returns>
    public static async Task<(string JobId, string Gate)> SubmitAtGateAsync(this HttpClient client)
    {
        var gate = Guid.NewGuid().ToString("N");
        var jobId = await client.SubmitAsync("test_gate", new { gate });
        await client.WaitForJobAsync(jobId, j => j.Str("status") == "running" && j["progress"]?["current_step"]?.GetValue<string>() == "waiting");
        return (jobId, gate);
    }

    public static Task<JsonObject> WaitForFinalAsync(this HttpClient client, string jobId, TimeSpan? within = null) =>
        client.WaitForJobAsync(jobId, j => FinalStatuses.Contains(j.Str("status")), within);
}
