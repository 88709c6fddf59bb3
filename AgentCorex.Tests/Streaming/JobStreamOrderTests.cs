using System.Net.Http.Headers;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Streaming;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Streaming;

/// <summary>
/// Streams that start following a job another stream already follows: their first event is their own read of the job,
/// which may be newer than what the watcher last found, and nothing older may follow it. The watcher's clock alone is
/// swapped, so that it polls when the test says: a stream's read, the job's changes and the polls come in the order
/// the test gives them, which real polls would leave to chance.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobStreamOrderTests(TestStorage storage)
{
    private static readonly object LongWait = new { duration_ms = 60_000 };

    private readonly FakeTimeProvider pollClock = new();
    private AgentCorexApp app = null!;
    private WebApplicationFactory<Program> node = null!;
    private HttpClient admin = null!;

    /// <summary>The node's, which its host disposes.</summary>
    private JobWatcher Watcher => node.Services.GetRequiredService<JobWatcher>();

    [OneTimeSetUp]
    public async Task StartServer()
    {
        app = new AgentCorexApp(storage == TestStorage.PostgreSql ? await ServerTest.PostgreSqlSettingsAsync() : null);
        node = app.WithWebHostBuilder(web => web.ConfigureTestServices(services =>
            services.AddSingleton(provider => ActivatorUtilities.CreateInstance<JobWatcher>(provider, (TimeProvider)pollClock))));
        admin = node.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AgentCorexApp.AdminKey);
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        admin?.Dispose();
        node?.Dispose();
        app?.Dispose();
    }

    [Test]
    public async Task Streams_OpenedBetweenTwoPolls_NewOrReconnecting_AreNotSentTheWatchersOlderState()
    {
        var jobId = await admin.SubmitAsync("wait", LongWait);
        await admin.WaitForStatusAsync(jobId, "running");
        var (followingResponse, following) = await ServerSentEventReader.OpenAsync(admin, $"/jobs/{jobId}/stream");
        using var _ = followingResponse;
        using var __ = following;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await following.NextAsync(deadline.Token); // its own read

        // A second run, which a poll finds and leaves as the watcher's latest; then a third, which no poll has seen.
        await node.RunAgainAsync(jobId);
        await PollAsync();
        var polled = (await following.NextAsync(deadline.Token))!;
        await node.RunAgainAsync(jobId);

        // A stream opens on the third run; then its client reconnects with Last-Event-ID while that connection is still open.
        var (openedResponse, opened) = await ServerSentEventReader.OpenAsync(admin, $"/jobs/{jobId}/stream");
        using var ___ = openedResponse;
        using var ____ = opened;
        var own = (await opened.NextAsync(deadline.Token))!;
        var (reconnectResponse, reconnect) = await ServerSentEventReader.OpenAsync(admin, $"/jobs/{jobId}/stream", lastEventId: own.Id);
        using var _____ = reconnectResponse;
        using var ______ = reconnect;

        (await admin.DeleteAsync($"/jobs/{jobId}?force=true")).EnsureSuccessStatusCode();
        await PollAsync();
        var afterOwn = await opened.ReadToEndAsync(TimeSpan.FromSeconds(20));
        var afterReconnect = await reconnect.ReadToEndAsync(TimeSpan.FromSeconds(20));

        var ownStart = StartOf(own);
        Assert.That(ownStart, Is.GreaterThan(StartOf(polled)), "the stream opened on the third run");
        Assert.Multiple(() =>
        {
            Assert.That(afterOwn.Select(Summary), Is.EqualTo(new[] { ("canceled", ownStart) }), "the new stream: its own read, then the cancel only");
            Assert.That(afterReconnect.Select(Summary), Is.EqualTo(new[] { ("canceled", ownStart) }), "the reconnect: the cancel only");
        });
    }

    /// <summary>
    /// The watcher's latest event can also be newer than a stream's own read: a poll between the read and the stream's
    /// subscription found the job finished. A stream takes nothing of a poll that may have come before its read, so the
    /// next poll, which finds nothing new, must still give it the final state, or it would wait for ever.
    /// </summary>
    [Test]
    public async Task Stream_WhoseReadCameBeforeAPollFoundTheJobFinished_IsSentTheFinalStateAtTheNextPoll()
    {
        var jobId = await admin.SubmitAsync("wait", LongWait);
        await admin.WaitForStatusAsync(jobId, "running");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        JobEntry job;
        JobEvent read;
        await using (var scope = node.Services.CreateAsyncScope())
        {
            // What a stream's controller reads first, and sends, before it subscribes.
            job = (await scope.ServiceProvider.GetRequiredService<JobLedger>().FindAsync(jobId, deadline.Token))!;
            read = JobEvent.From(await scope.ServiceProvider.GetRequiredService<JobView>().ReadAsync(job, deadline.Token));
        }
        using var following = Watcher.TrySubscribe(job)!;
        (await admin.DeleteAsync($"/jobs/{jobId}?force=true")).EnsureSuccessStatusCode();
        await PollAsync();
        var final = (await following.NextAsync(sentId: null, TimeSpan.FromHours(1), deadline.Token))!;

        using var subscribed = Watcher.TrySubscribe(job)!;
        var next = subscribed.NextAsync(read.Id, TimeSpan.FromHours(1), deadline.Token);
        await PollAsync();

        Assert.That(final.IsFinal, "the watcher's latest, before the stream subscribed");
        Assert.That(await Task.WhenAny(next, Task.Delay(TimeSpan.FromSeconds(10))) == next, Is.True, "sent at the next poll, not left waiting for a change");
        Assert.That((await next)?.Id, Is.EqualTo(final.Id));
    }

    private static long StartOf(ServerSentEvent e) => e.Data.At("started_at")!.GetValue<long>();

    private static (string?, long) Summary(ServerSentEvent e) => (e.Data.Str("status"), StartOf(e));

    /// <summary>
    /// Has the watcher start one poll: moves its clock on by a poll interval until one has started (the watcher may not
    /// be waiting on its clock yet, having only just ended the last poll). What the poll publishes comes a little after.
    /// </summary>
    private async Task PollAsync()
    {
        var started = Watcher.Polls;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Watcher.Polls == started)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the watcher polls as its clock moves");
            pollClock.Advance(new StreamingOptions().PollInterval);
            await Task.Delay(10);
        }
    }
}
