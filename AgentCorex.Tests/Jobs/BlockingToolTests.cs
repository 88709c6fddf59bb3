using System.Diagnostics;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// Tools that block their thread and ignore their token, abandoned at their deadlines, pile up: each keeps its thread
/// for as long as it blocks. Started on threads of the pool, 150 of them starved it (the pool adds a thread or two a
/// second), and the deadlines of the jobs behind them, and every request, came late. Each job still times out
/// within its second.
/// </summary>
public sealed class BlockingToolTests : ServerTest
{
    private const int Jobs = 150;

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "30" };

    [Test]
    public async Task ManyToolsBlockingPastTheirDeadlines_DoNotStarveTheServer_EveryJobTimesOutInTime()
    {
        var watch = Stopwatch.StartNew();
        var jobIds = new List<string>();
        for (var i = 0; i < Jobs; i++)
        {
            // Blocks its thread for 20 s, whatever its token says; its job's deadline is 100 ms.
            jobIds.Add(await Admin.SubmitAsync("test_ignore_token", new { duration_ms = 20_000 }, timeoutMs: 100));
        }
        foreach (var jobId in jobIds)
        {
            var job = await Admin.WaitForFinalAsync(jobId, within: TimeSpan.FromSeconds(15) - watch.Elapsed);
            Assert.That(job.Str("status"), Is.EqualTo("timeout"), job.ToJsonString());
        }
        var ended = watch.Elapsed;
        var probe = Stopwatch.StartNew();
        using var live = await Admin.GetAsync("/health/live");

        Assert.Multiple(() =>
        {
            Assert.That(ended, Is.LessThan(TimeSpan.FromSeconds(15)), $"{Jobs} jobs of 100 ms, 30 at a time");
            Assert.That(probe.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "a request with every abandoned tool still blocking");
        });
    }
}
