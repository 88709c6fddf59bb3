using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Streaming;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Streaming;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobStreamTests(TestStorage storage) : ServerTest(storage)
{
    private static readonly string[] StatusOrder = ["queued", "running", "completed", "failed", "canceled", "timeout"];

    private HttpClient user = null!;
    private string userKey = null!;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Streaming:KeepAliveInterval"] = "00:00:01" };

    [SetUp]
    public async Task CreateUser()
    {
        userKey = (await App.CreateKeyAsync(plan: "pro")).ApiKey;
        user = App.CreateClient(userKey);
    }

    [TearDown]
    public void DisposeUser() => user.Dispose();

    [Test]
    public async Task Stream_SendsTheJobAtOnce_ThenEveryProgressStep_AndClosesOnTheFinalState()
    {
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 2000, steps = 4 });

        var (response, stream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        using var _ = response;
        using var __ = stream;
        var events = await stream.ReadToEndAsync(TimeSpan.FromSeconds(20));

        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"));
        Assert.That(events, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(events.Select(e => e.Data.Str("job_id")), Is.All.EqualTo(jobId));
            Assert.That(events.Select(e => e.Id), Is.All.Not.Null);
            Assert.That(events.Select(e => e.Id), Is.Unique);
            var statuses = events.Select(e => Array.IndexOf(StatusOrder, e.Data.Str("status"))).ToList();
            Assert.That(statuses, Is.Ordered, "statuses move forward only");
            Assert.That(events[^1].Data.Str("status"), Is.EqualTo("completed"));
            Assert.That(events[^1].Data.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(2000), "the final event is GET's completed shape");
            var steps = events.Select(e => e.Data.Str("progress.current_step")).OfType<string>().Where(s => s.StartsWith("step-", StringComparison.Ordinal)).ToList();
            Assert.That(steps, Is.SupersetOf(new[] { "step-1", "step-2", "step-3" }), "each progress step is an event");
            Assert.That(steps, Is.Ordered);
        });
    }

    [Test]
    public async Task Stream_Ends_WhenItsKeyIsRevoked_AndSendsNothingMore()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        using var client = App.CreateClient(key.ApiKey);
        var jobId = await client.SubmitAsync("wait", new { duration_ms = 4000, steps = 8 });
        var (response, stream) = await ServerSentEventReader.OpenAsync(client, $"/jobs/{jobId}/stream");
        using var _ = response;
        using var __ = stream;
        Assert.That(await stream.NextAsync(CancellationToken.None), Is.Not.Null, "the job at once");

        (await Admin.DeleteAsync($"/api_keys/{key.KeyId}")).EnsureSuccessStatusCode();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var after = await stream.ReadToEndAsync(TimeSpan.FromSeconds(20));

        Assert.Multiple(() =>
        {
            Assert.That(after.Select(e => e.Data.Str("status")), Has.None.EqualTo("completed"), "the revoked key is sent no result");
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)), "ended at its next event or keep-alive, not at the job's end");
        });
    }

    [Test]
    public async Task Stream_SendsAKeepAliveComment_WhileNothingChanges()
    {
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 2500 });

        var (response, stream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        using var _ = response;
        using var __ = stream;
        var events = await stream.ReadToEndAsync(TimeSpan.FromSeconds(20));

        Assert.That(events[^1].Data.Str("status"), Is.EqualTo("completed"));
        Assert.That(stream.Comments, Is.GreaterThan(0), "Streaming:KeepAliveInterval is 1 s here");
    }

    [Test]
    public async Task Stream_OfAFinishedJob_SendsItsFinalStateAndCloses()
    {
        var jobId = await user.SubmitAsync("fail", new { message = "no", code = "NOPE" });
        await user.WaitForFinalAsync(jobId);

        var (response, stream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        using var _ = response;
        using var __ = stream;
        var events = await stream.ReadToEndAsync(TimeSpan.FromSeconds(10));

        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].Data.ToJsonString(), Is.EqualTo((await user.GetJobAsync(jobId)).ToJsonString()), "the same JSON as GET /jobs/{id}");
    }

    [Test]
    public async Task Stream_ResumedWithLastEventId_DoesNotRepeatWhatTheClientHas()
    {
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 1500, steps = 3 });
        string firstId;
        var (first, firstStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        using (first)
        using (firstStream)
        {
            firstId = (await firstStream.NextAsync(CancellationToken.None))!.Id!;
        }

        var (resumed, resumedStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream", lastEventId: firstId);
        using var _ = resumed;
        using var __ = resumedStream;
        var events = await resumedStream.ReadToEndAsync(TimeSpan.FromSeconds(20));

        Assert.That(events.Select(e => e.Id), Has.None.EqualTo(firstId));
        Assert.That(events[^1].Data.Str("status"), Is.EqualTo("completed"));
    }

    [Test]
    public async Task Stream_ResumedAfterTheFinalEvent_IsNoContent_SoEventSourceStopsReconnecting()
    {
        var jobId = await user.SubmitAsync("fail", new { message = "no" });
        await user.WaitForFinalAsync(jobId);
        var (first, firstStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        string finalId;
        using (first)
        using (firstStream)
        {
            finalId = (await firstStream.ReadToEndAsync(TimeSpan.FromSeconds(10))).Single().Id!;
        }

        var (again, againStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream", lastEventId: finalId);
        using var _ = again;
        using var __ = againStream;

        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), "the client already has the final state");
        Assert.That(await again.Content.ReadAsStringAsync(), Is.Empty);
    }

    [Test]
    public async Task Stream_OfAFinishedJob_ResumedFromAnEarlierEvent_SendsTheFinalEventAndCloses()
    {
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 1000 });
        var (first, firstStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        string earlierId;
        using (first)
        using (firstStream)
        {
            var earlier = (await firstStream.NextAsync(CancellationToken.None))!;
            Assert.That(earlier.Data.Str("status"), Is.Not.EqualTo("completed"), "an event from before the end");
            earlierId = earlier.Id!;
        }
        await user.WaitForFinalAsync(jobId);

        foreach (var lastEventId in new[] { earlierId, "not-an-id-this-server-gave" })
        {
            var (resumed, resumedStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream", lastEventId: lastEventId);
            using var _ = resumed;
            using var __ = resumedStream;
            var events = await resumedStream.ReadToEndAsync(TimeSpan.FromSeconds(10));

            Assert.That(resumed.StatusCode, Is.EqualTo(HttpStatusCode.OK), lastEventId);
            Assert.That(events, Has.Count.EqualTo(1), lastEventId);
            Assert.That(events[0].Data.Str("status"), Is.EqualTo("completed"));
            Assert.That(events[0].Id, Is.Not.EqualTo(earlierId));
        }
    }

    [Test]
    public async Task Stream_TakesTheKeyAsAccessTokenQuery_OnlyThere()
    {
        var jobId = await user.SubmitAsync("echo", new { message = "hi" });
        await user.WaitForFinalAsync(jobId);
        using var anonymous = App.CreateClient(apiKey: null);

        var (response, stream) = await ServerSentEventReader.OpenAsync(anonymous, $"/jobs/{jobId}/stream?access_token={Uri.EscapeDataString(userKey)}");
        using var _ = response;
        using var __ = stream;
        var elsewhere = await anonymous.GetAsync($"/jobs/{jobId}?access_token={Uri.EscapeDataString(userKey)}");
        var wrong = await anonymous.GetAsync($"/jobs/{jobId}/stream?access_token=acx_nope");

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await stream.ReadToEndAsync(TimeSpan.FromSeconds(10)))[0].Data.Str("status"), Is.EqualTo("completed"));
            Assert.That(elsewhere.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "other endpoints take the header only");
            Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That((await wrong.ReadObjectAsync()).Str("error.code"), Is.EqualTo("UNAUTHORIZED"));
        });
    }

    [Test]
    public async Task Stream_OfAnotherKeysJob_IsJobNotFound()
    {
        var jobId = await user.SubmitAsync("echo", new { message = "mine" });
        using var other = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

        var response = await other.GetAsync($"/jobs/{jobId}/stream");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("JOB_NOT_FOUND"));
    }

    [Test]
    public async Task Stream_EndsWhenTheClientGoesAway()
    {
        var watcher = App.Services.GetRequiredService<JobWatcher>();
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 30_000 });
        var (response, stream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        await stream.NextAsync(CancellationToken.None);
        Assert.That(watcher.OpenStreams, Is.EqualTo(1));

        stream.Dispose();
        response.Dispose();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (watcher.OpenStreams > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.That(watcher.OpenStreams, Is.Zero);
        await user.DeleteAsync($"/jobs/{jobId}?force=true");
    }
}

/// <summary>A node serving as many streams as it may refuses more, and says when to try again.</summary>
public sealed class JobStreamLimitTests : ServerTest
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Streaming:MaxStreams"] = "1" };

    [Test]
    public async Task Stream_BeyondMaxStreams_IsTooManyStreams_WithRetryAfter()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 30_000 });
        var (open, openStream) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        using var _ = open;
        using var __ = openStream;
        await openStream.NextAsync(CancellationToken.None);

        var refused = await user.GetAsync($"/jobs/{jobId}/stream");

        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((await refused.ReadObjectAsync()).Str("error.code"), Is.EqualTo("TOO_MANY_STREAMS"));
        Assert.That(refused.Headers.RetryAfter?.Delta?.TotalSeconds, Is.Not.Null.And.GreaterThan(0), "Retry-After, in seconds");
        await user.DeleteAsync($"/jobs/{jobId}?force=true");
    }
}

/// <summary>
/// One key may hold Streaming:MaxStreamsPerKey streams on a node, so that it cannot take every stream the node serves;
/// other keys, and admin keys, are not held back by it, and a stream closed gives its place back.
/// </summary>
public sealed class JobStreamKeyLimitTests : ServerTest
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Streaming:MaxStreamsPerKey"] = "2" };

    [Test]
    public async Task Streams_BeyondTheKeysLimit_AreRateLimited_WhileOtherKeysStillStream()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        using var other = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await user.SubmitAsync("wait", new { duration_ms = 30_000 });
        var othersJob = await other.SubmitAsync("wait", new { duration_ms = 30_000 });
        var first = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        var (second, secondEvents) = await ServerSentEventReader.OpenAsync(user, $"/jobs/{jobId}/stream");
        using var _ = second;
        using var __ = secondEvents;
        await first.Events.NextAsync(CancellationToken.None);
        await secondEvents.NextAsync(CancellationToken.None);

        var refused = await user.GetAsync($"/jobs/{jobId}/stream");
        var (others, othersEvents) = await ServerSentEventReader.OpenAsync(other, $"/jobs/{othersJob}/stream");
        using var ___ = others;
        using var ____ = othersEvents;
        var (admins, adminsEvents) = await ServerSentEventReader.OpenAsync(Admin, $"/jobs/{jobId}/stream");
        using var _____ = admins;
        using var ______ = adminsEvents;

        var error = await refused.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), error.ToJsonString());
            Assert.That(error.Str("error.code"), Is.EqualTo("RATE_LIMIT_EXCEEDED"));
            Assert.That((int?)error["error"]?["details"]?["max_streams_per_key"], Is.EqualTo(2));
            Assert.That(refused.Headers.RetryAfter?.Delta?.TotalSeconds, Is.Not.Null.And.GreaterThan(0), "Retry-After, in seconds");
            Assert.That(others.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another key's stream");
            Assert.That(admins.StatusCode, Is.EqualTo(HttpStatusCode.OK), "an admin key's stream, over the user's two");
        });

        // A stream closed gives its place back, once the server has seen it go.
        first.Events.Dispose();
        first.Response.Dispose();
        HttpResponseMessage again;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((again = await user.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/jobs/{jobId}/stream"))).StatusCode == HttpStatusCode.TooManyRequests
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a place freed by a closed stream");
        await user.DeleteAsync($"/jobs/{jobId}?force=true");
        await other.DeleteAsync($"/jobs/{othersJob}?force=true");
    }
}

/// <summary>EventSource clients put their key in the URL; it must not reach the log through it.</summary>
public sealed class JobStreamLoggingTests
{
    [Test]
    public async Task AccessToken_NeverAppearsInTheLog_EvenWithRequestLoggingAskedFor()
    {
        var logs = new CapturedLogs();
        // A server of its own: a second host over the fixture's would share Hangfire's process-wide state with it.
        using var app = new AgentCorexApp();
        using var logged = app.WithWebHostBuilder(host => host
            .UseSetting("Logging:LogLevel:Default", "Trace")
            .UseSetting("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "Information")
            .ConfigureLogging(logging => logging.AddProvider(logs)));
        using var anonymous = logged.CreateClient();
        using var client = logged.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", AgentCorexApp.AdminKey);
        var key = (await (await client.PostJsonAsync("/api_keys", new { name = "streamer", plan = "pro" })).ReadObjectAsync()).Str("api_key")!;
        client.DefaultRequestHeaders.Authorization = new("Bearer", key);
        var jobId = await client.SubmitAsync("echo", new { message = "hi" });
        await client.WaitForFinalAsync(jobId);

        var (response, stream) = await ServerSentEventReader.OpenAsync(anonymous, $"/jobs/{jobId}/stream?access_token={Uri.EscapeDataString(key)}");
        using var _ = response;
        using var __ = stream;
        await stream.ReadToEndAsync(TimeSpan.FromSeconds(10));

        Assert.That(logs.Lines, Is.Not.Empty, "the capture works");
        Assert.That(logs.Lines, Has.None.Contain(key.Split('_')[2]));
    }
}
