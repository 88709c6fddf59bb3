using AgentCorex.Tests.Infrastructure;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A restart of the embedded default with a key's jobs parked and its slots now free: the start's recovery enqueues
/// the ledger's queued jobs, and the parked-jobs sweep hands the parked ones over; each job gets one Hangfire job.
/// The sweep now waits for the recovery (<see cref="AgentCorex.Web.Jobs.StartRecovery"/>). The crash audit that found
/// them racing needed kill -9 with jobs running to see it (about one job in 60); here it did not show on the code
/// before, so this holds the property rather than replaying that interleaving.
/// </summary>
public sealed class ParkedRestartTests
{
    [Test]
    public async Task Restart_WithParkedJobsAndFreeSlots_GivesEachJobOneHangfireJob()
    {
        var data = Directory.CreateTempSubdirectory("agentcorex-parked-").FullName;
        try
        {
            var jobs = new List<string>();
            using (var first = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "0" }, data))
            {
                // A queue ahead of them, so that the start's recovery is still reading the ledger's queued jobs when
                // the sweep hands the parked ones over.
                using var ahead = first.CreateAdminClient();
                await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
                {
                    for (var i = 0; i < 150; i++)
                    {
                        var jobId = await ahead.SubmitAsync("echo", new { message = "ahead" });
                        lock (jobs)
                        {
                            jobs.Add(jobId);
                        }
                    }
                }));
                using var client = first.CreateClient((await first.CreateKeyAsync(plan: "free")).ApiKey); // one at once: the rest park
                for (var i = 0; i < 6; i++)
                {
                    jobs.Add(await client.SubmitAsync("echo", new { message = $"job {i}" }));
                }
            }
            await HangfireIdTests.LetGoOfAsync(Path.Combine(data, "agentcorex.db.lock"));

            using var second = new AgentCorexApp(new Dictionary<string, string?>
            {
                ["Jobs:WorkerCount"] = "0", // nothing runs: what was enqueued stays to be counted
                ["RateLimits:Plans:free:MaxConcurrent"] = "100", // the parked jobs' slots are free now
            }, data);
            var monitoring = second.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (monitoring.EnqueuedCount("default") < jobs.Count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            await Task.Delay(500); // a second Hangfire job for one of them would be enqueued by now

            var enqueued = monitoring.EnqueuedJobs("default", 0, 10_000).Select(j => (string)j.Value.Job.Args[0]).ToList();
            Assert.That(enqueued, Is.EquivalentTo(jobs), "each of the jobs enqueued once");
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
