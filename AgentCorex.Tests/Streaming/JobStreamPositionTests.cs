using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Streaming;

/// <summary>
/// A queued job's stream follows its place in the queue as the jobs ahead of it start. One worker, so that jobs
/// really wait; a server of its own, since a place counts every key's queued jobs.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobStreamPositionTests(TestStorage storage) : ServerTest(storage)
{
    private static readonly object LongWait = new { duration_ms = 60_000 };

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "1",
        ["Streaming:KeepAliveInterval"] = "00:00:01",
    };

    [TearDown]
    public async Task EmptyTheQueue()
    {
        // The next test counts places from an empty queue and an idle worker. Canceling a key's job may unpark another.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var left = new List<string>();
            foreach (var status in new[] { "queued", "running" })
            {
                var page = await (await Admin.GetAsync($"/jobs?status={status}&limit=100")).ReadObjectAsync();
                left.AddRange(page["jobs"]!.AsArray().Select(j => j.Str("job_id")!));
            }
            if (left.Count == 0)
            {
                return;
            }
            foreach (var job in left)
            {
                await Admin.DeleteAsync($"/jobs/{job}?force=true");
            }
        }
    }

    [Test]
    public async Task Stream_OfAQueuedJob_SendsEachNewPlace_AsTheJobsAheadStart()
    {
        using var user = await ClientAsync();
        var running = await user.SubmitAsync("wait", LongWait);
        await user.WaitForStatusAsync(running, "running");
        string[] ahead = [await user.SubmitAsync("wait", LongWait), await user.SubmitAsync("wait", LongWait)];
        var followed = await user.SubmitAsync("wait", LongWait);

        var places = await FollowWhileEndingAsync(user, followed, [running, .. ahead]);

        Assert.That(places, Is.EqualTo(new[] { 3, 2, 1 }), "the place at once, then one event per job ahead started");
    }

    [Test]
    public async Task Stream_OfAParkedJob_SendsEachNewPlace_AsItsKeysJobsAheadTakeTheSlot()
    {
        // Limit 1: the key's first job runs, the next ones are parked; its own parked jobs ahead count.
        using var user = await ClientAsync(maxConcurrent: 1);
        var running = await user.SubmitAsync("wait", LongWait);
        await user.WaitForStatusAsync(running, "running");
        string[] parked = [await user.SubmitAsync("wait", LongWait), await user.SubmitAsync("wait", LongWait)];
        var followed = await user.SubmitAsync("wait", LongWait);

        var places = await FollowWhileEndingAsync(user, followed, [running, .. parked]);

        Assert.That(places, Is.EqualTo(new[] { 3, 2, 1 }));
    }

    [Test]
    public async Task Stream_OfAQueuedJob_SendsNothing_WhileItsPlaceStaysTheSame()
    {
        using var user = await ClientAsync();
        var running = await user.SubmitAsync("wait", LongWait);
        await user.WaitForStatusAsync(running, "running");
        // Another key at its limit: its first job waits for the worker (ahead, counted), its second is parked
        // (ahead, but waiting for its own key's slot: not counted).
        using var other = await ClientAsync(maxConcurrent: 1);
        var otherWaiting = await other.SubmitAsync("wait", LongWait);
        var otherParked = await other.SubmitAsync("wait", LongWait);
        var followed = await user.SubmitAsync("wait", LongWait);
        var behind = await user.SubmitAsync("wait", LongWait);

        var (response, stream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{followed}/stream");
        using var _ = response;
        using var __ = stream;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = (await stream.NextAsync(deadline.Token))!;
        Assert.That(first.Data.At("position_in_queue")!.GetValue<int>(), Is.EqualTo(2));
        var idle = await stream.NextAsync(keepAlives: 2, deadline.Token);

        // Jobs come and go behind it, and another key's parked job ahead of it goes: none of it moves it.
        Assert.That((await other.DeleteAsync($"/jobs/{otherParked}")).IsSuccessStatusCode);
        Assert.That((await user.DeleteAsync($"/jobs/{behind}")).IsSuccessStatusCode);
        await user.SubmitAsync("wait", LongWait);
        var quiet = await stream.NextAsync(keepAlives: 2, deadline.Token);

        // A job ahead of it goes: that moves it, on the same stream.
        Assert.That((await other.DeleteAsync($"/jobs/{otherWaiting}")).IsSuccessStatusCode);
        var moved = await stream.NextAsync(keepAlives: 10, deadline.Token);

        Assert.Multiple(() =>
        {
            Assert.That(idle?.Data.ToJsonString(), Is.Null, "nothing changed: no event through two keep-alives (a second each, five polls)");
            Assert.That(quiet?.Data.ToJsonString(), Is.Null, "nothing that moves it changed: no event through two keep-alives");
            Assert.That(moved?.Data.At("position_in_queue")?.GetValue<int>(), Is.EqualTo(1), "an event within ten keep-alives once a job ahead went");
        });
    }

    /// <summary>
    /// Follows <paramref name="followed"/> on a stream, then force-cancels each job of <paramref name="ahead"/> as it
    /// runs, in turn; returns the places the stream sent before the job's own start, each checked against GET.
    /// </summary>
    private static async Task<List<int>> FollowWhileEndingAsync(HttpClient user, string followed, string[] ahead)
    {
        var (response, stream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{followed}/stream");
        using var _ = response;
        using var __ = stream;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var places = new List<int>();
        foreach (var job in ahead.Append(null))
        {
            var sent = await stream.NextAsync(keepAlives: 10, deadline.Token);
            Assert.That(sent, Is.Not.Null, $"no event through ten keep-alives (a second each) after the places {string.Join(", ", places)}");
            if (sent!.Data.Str("status") != "queued")
            {
                Assert.That(sent.Data.Str("status"), Is.EqualTo("running"), "after the last place, the job's start");
                break;
            }
            var place = sent.Data.At("position_in_queue")!.GetValue<int>();
            places.Add(place);
            Assert.That((await user.GetJobAsync(followed)).At("position_in_queue")?.GetValue<int>(), Is.EqualTo(place), "GET's place at the same moment");
            if (job is not null)
            {
                await user.WaitForStatusAsync(job, "running", within: TimeSpan.FromSeconds(20));
                Assert.That((await user.DeleteAsync($"/jobs/{job}?force=true")).IsSuccessStatusCode);
            }
        }
        return places;
    }

    /// <summary>A key of its own, with no request limit in the way, and a limit of executions at once when asked.</summary>
    private async Task<HttpClient> ClientAsync(int? maxConcurrent = null)
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        var limits = maxConcurrent is null ? (object)new { requests_per_minute = 1_000_000 } : new { requests_per_minute = 1_000_000, max_concurrent = maxConcurrent };
        (await Admin.PatchAsJsonAsync($"/api_keys/{key.KeyId}", new { rate_limits = limits })).EnsureSuccessStatusCode();
        return App.CreateClient(key.ApiKey);
    }
}
