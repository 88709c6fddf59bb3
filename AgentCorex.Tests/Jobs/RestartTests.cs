using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A job accepted with 202 is never lost: the server is stopped with jobs running and queued, started again on
/// the same data, and every job reaches a final state by the rules (re-run if safe to retry, else SERVER_RESTARTED).
/// </summary>
[NonParallelizable]
public sealed class RestartTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-restart-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [TestCase(true, TestName = "Restart_AfterKill9_FinishesEveryJob")]
    [TestCase(false, TestName = "Restart_AfterSigterm_FinishesEveryJob")]
    public async Task Restart_FinishesEveryJob(bool kill)
    {
        var workers = new Dictionary<string, string> { ["Jobs:WorkerCount"] = "2" };
        string unsafeJob, safeJob;
        List<string> queued = [];
        await using (var first = await ServerProcess.StartAsync(data, workers))
        {
            using var client = first.CreateClient();
            unsafeJob = await client.SubmitAsync("test_side_effect", new { duration_ms = 120_000 });
            safeJob = await client.SubmitAsync("wait", new { duration_ms = 1500, steps = 3 });
            await client.WaitForStatusAsync(unsafeJob, "running");
            await client.WaitForStatusAsync(safeJob, "running");
            for (var i = 0; i < 5; i++)
            {
                queued.Add(await client.SubmitAsync("echo", new { message = $"queued {i}" }));
            }
            Assert.That((await client.GetJobAsync(queued[^1])).Str("status"), Is.EqualTo("queued"), "both workers are busy");

            if (kill)
            {
                await first.KillAsync();
            }
            else
            {
                await first.StopAsync();
            }
        }
        await using var second = await ServerProcess.StartAsync(data, workers);
        using var again = second.CreateClient();
        var unsafeEnd = await again.WaitForFinalAsync(unsafeJob, within: TimeSpan.FromSeconds(20));
        var safeEnd = await again.WaitForFinalAsync(safeJob, within: TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(unsafeEnd.Str("status"), Is.EqualTo("failed"), second.Output);
            Assert.That(unsafeEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(safeEnd.Str("status"), Is.EqualTo("completed"), kill ? "a tool safe to retry runs again" : "it finished within the shutdown drain");
            Assert.That(safeEnd.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(1500));
        });
        foreach (var id in queued)
        {
            var end = await again.WaitForFinalAsync(id, within: TimeSpan.FromSeconds(20));
            Assert.That(end.Str("status"), Is.EqualTo("completed"), id);
        }
    }

    /// <summary>
    /// A job of a tool safe to retry that is cut off in every run (a tool that never ends between restarts, or that takes
    /// its server down with it) runs at most Jobs:MaxAttempts times, then ends failed SERVER_RESTARTED: here cut off by a
    /// kill in its first run (run again at the next start), then in its second and last by a kill (failed by the next
    /// start's recovery) or by SIGTERM past the shutdown timeout (failed by the run's own cut-off).
    /// </summary>
    [TestCase(true, TestName = "Restart_JobCutOffInItsLastRunByKill9_EndsFailed")]
    [TestCase(false, TestName = "Restart_JobCutOffInItsLastRunBySigterm_EndsFailed")]
    public async Task Restart_JobCutOffInEachOfItsRuns_EndsFailedAtJobsMaxAttempts(bool kill)
    {
        var settings = new Dictionary<string, string> { ["Jobs:MaxAttempts"] = "2", ["Jobs:ShutdownTimeout"] = "00:00:00.500" };
        string job;
        await using (var first = await ServerProcess.StartAsync(data, settings))
        {
            using var client = first.CreateClient();
            job = await client.SubmitAsync("wait", new { duration_ms = 600_000 }, timeoutMs: 600_000);
            await client.WaitForStatusAsync(job, "running");
            await first.KillAsync();
        }
        await using (var second = await ServerProcess.StartAsync(data, settings))
        {
            using var client = second.CreateClient();
            await client.WaitForStatusAsync(job, "running"); // its second run: the first start's was cut off with one left
            if (kill)
            {
                await second.KillAsync();
            }
            else
            {
                await second.StopAsync();
                Assert.That(second.Output, Does.Contain($"Job {job} was still running when the server's shutdown timeout ran out: cut off"));
            }
        }
        await using var third = await ServerProcess.StartAsync(data, settings);
        using var again = third.CreateClient();
        var end = await again.WaitForFinalAsync(job, within: TimeSpan.FromSeconds(20));
        Assert.Multiple(() =>
        {
            Assert.That(end.Str("status"), Is.EqualTo("failed"), third.Output);
            Assert.That(end.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(end.Str("error.message"), Does.Contain("in run 2 of at most 2 (Jobs:MaxAttempts)"));
        });
    }

    /// <summary>
    /// Were a start to listen before its recovery ended, a client would see a job the last run left running as still
    /// running, on a server that runs nothing, and could cancel it, while /health/ready said ready. It does not: the
    /// host starts the web server after every other hosted service's StartAsync, the recovery's among them.
    /// </summary>
    [Test]
    public async Task Restart_ListensOnlyOnceItsRecoveryHasEnded()
    {
        string cutOff;
        await using (var first = await ServerProcess.StartAsync(data))
        {
            using var client = first.CreateClient();
            cutOff = await client.SubmitAsync("test_side_effect", new { duration_ms = 120_000 });
            await client.WaitForStatusAsync(cutOff, "running");
            await first.KillAsync();
        }
        await using var second = await ServerProcess.StartAsync(data, new Dictionary<string, string> { ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information" });
        using var again = second.CreateClient();

        var job = await again.GetJobAsync(cutOff);

        var output = second.Output;
        var recovered = output.IndexOf("Recovered after restart: 1 job(s) had been cut off while running", StringComparison.Ordinal);
        var listening = output.IndexOf("Now listening on", StringComparison.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("failed"), output);
            Assert.That(job.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(recovered, Is.GreaterThanOrEqualTo(0), output);
            Assert.That(listening, Is.GreaterThan(recovered), $"listening only after the recovery:\n{output}");
        });
    }
}
