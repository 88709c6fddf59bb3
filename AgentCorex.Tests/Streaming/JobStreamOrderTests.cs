using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Streaming;

/// <summary>
/// A stream opened between two of the watcher's polls on a job another stream already follows: its first event is
/// its own read of the job, newer than what the watcher last published. Polls 5 s apart, so that the job's change and
/// the second stream's start fall between two of them.
/// </summary>
[TestFixture(TestStorage.Embedded)]
public sealed class JobStreamOrderTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Streaming:PollInterval"] = "00:00:05",
        ["Streaming:KeepAliveInterval"] = "00:00:01",
    };

    [Test]
    public async Task Stream_OpenedBetweenTwoPolls_NeverSendsAStateOlderThanItsFirst()
    {
        var jobId = await Admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await Admin.WaitForStatusAsync(jobId, "running");
        var (firstResponse, first) = await ServerSentEventReader.OpenAsync(Admin, $"/jobs/{jobId}/stream");
        using var _ = firstResponse;
        using var __ = first;
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var opening = (await first.NextAsync(deadline.Token))!;

        // A new run, which the next poll publishes to the first stream: that event marks the poll, and leaves the run
        // as the watcher's latest. It starts in a later second, so that its started_at differs.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await App.RunAgainAsync(jobId);
        ServerSentEvent? polled;
        do
        {
            polled = await first.NextAsync(keepAlives: 12, deadline.Token);
        }
        while (polled is not null && polled.Data.At("started_at")!.GetValue<long>() == opening.Data.At("started_at")!.GetValue<long>());
        Assert.That(polled, Is.Not.Null, "the second run, published by a poll");

        // A third run in a later second, well before the next poll; a second stream opens on it.
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        await App.RunAgainAsync(jobId);
        var (secondResponse, second) = await ServerSentEventReader.OpenAsync(Admin, $"/jobs/{jobId}/stream");
        using var ___ = secondResponse;
        using var ____ = second;
        var own = (await second.NextAsync(deadline.Token))!;
        var next = await second.NextAsync(keepAlives: 2, deadline.Token);

        var ownStart = own.Data.At("started_at")!.GetValue<long>();
        Assert.Multiple(() =>
        {
            Assert.That(ownStart, Is.GreaterThan(polled!.Data.At("started_at")!.GetValue<long>()), "the second stream opened on the third run");
            Assert.That(next?.Data.At("started_at")!.GetValue<long>() ?? ownStart, Is.GreaterThanOrEqualTo(ownStart),
                "the second stream is not sent the watcher's older run after its own newer read");
        });
        (await Admin.DeleteAsync($"/jobs/{jobId}?force=true")).EnsureSuccessStatusCode();
    }
}
