using AgentCorex.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AgentCorex.Tests.Streaming;

/// <summary>A browser's own EventSource on GET /jobs/{id}/stream: what it receives, and that it stops.</summary>
[NonParallelizable]
public sealed class JobStreamBrowserTests : BrowserTest
{
    [Test]
    public async Task EventSource_OnAFinishedJob_GetsTheFinalEventOnce_ThenStopsReconnecting()
    {
        using var api = Server.CreateClient();
        var jobId = await api.SubmitAsync("echo", new { message = "done" });
        await api.WaitForFinalAsync(jobId);
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        var streamRequests = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains($"/jobs/{jobId}/stream", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref streamRequests);
            }
        };
        await page.GotoAsync("/health/live"); // a document of the server's origin for the script to run in

        await page.EvaluateAsync("""
            url => {
                const seen = window.seen = { statuses: [], errors: 0 };
                const source = window.source = new EventSource(url);
                source.onmessage = e => seen.statuses.push(JSON.parse(e.data).status);
                source.onerror = () => seen.errors++;
            }
            """, $"/jobs/{jobId}/stream?access_token={Uri.EscapeDataString(AgentCorexApp.AdminKey)}");
        // EventSource reconnects (after about 3 s) whenever a stream closes; only a 204 makes it give up, for good.
        const int Closed = 2;
        var deadline = DateTime.UtcNow + Deadline;
        while (await page.EvaluateAsync<int>("() => window.source.readyState") != Closed && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.That(await page.EvaluateAsync<int>("() => window.source.readyState"), Is.EqualTo(Closed),
            $"EventSource gave up; it had made {Volatile.Read(ref streamRequests)} requests to the stream");
        Assert.That(await page.EvaluateAsync<string[]>("() => window.seen.statuses"), Is.EqualTo(new[] { "completed" }), "the final event, not repeated");
        Assert.That(Volatile.Read(ref streamRequests), Is.EqualTo(2), "the stream, then one reconnect that was told there is nothing more");
    }
}
