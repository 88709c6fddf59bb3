using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Streaming;

/// <summary>
/// A job run again between two of the watcher's polls (its run cut off by a restart, the job requeued and started
/// again): running at both polls, only its attempt tells it changed. Polls 3 s apart, so that both changes fall
/// between two of them.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobStreamRerunTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Streaming:PollInterval"] = "00:00:03",
        ["Streaming:KeepAliveInterval"] = "00:00:01",
    };

    [Test]
    public async Task Stream_OfAJobRunAgainBetweenTwoPolls_SendsTheNewRun()
    {
        var jobId = await Admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await Admin.WaitForStatusAsync(jobId, "running");
        var (response, stream) = await ServerSentEventReader.OpenAsync(Admin, $"/jobs/{jobId}/stream");
        using var _ = response;
        using var __ = stream;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = (await stream.NextAsync(deadline.Token))!;
        Assert.That(first.Data.Str("status"), Is.EqualTo("running"));
        var firstStart = first.Data.At("started_at")!.GetValue<long>();

        // The first event is the stream's own read: the watcher has seen the job once a poll has passed. Both writes of
        // the next run fall within one poll interval.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        await App.RunAgainAsync(jobId);

        // Within two polls and a half; another event of the first run (its progress) may come first.
        ServerSentEvent? next;
        do
        {
            next = await stream.NextAsync(keepAlives: 8, deadline.Token);
        }
        while (next is not null && next.Data.At("started_at")?.GetValue<long>() == firstStart);

        var now = await Admin.GetJobAsync(jobId);
        Assert.That(next, Is.Not.Null, "the new run's event, within eight keep-alives");
        Assert.Multiple(() =>
        {
            Assert.That(next!.Data.Str("status"), Is.EqualTo("running"));
            Assert.That(next.Data.At("started_at")!.GetValue<long>(), Is.GreaterThan(firstStart));
            Assert.That(next.Data.ToJsonString(), Is.EqualTo(now.ToJsonString()), "GET's view of the new run");
        });
        (await Admin.DeleteAsync($"/jobs/{jobId}?force=true")).EnsureSuccessStatusCode();
    }
}
