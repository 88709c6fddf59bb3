using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A restart of the embedded default with a key's jobs parked and its slots now free: the start's recovery enqueues
/// the ledger's queued jobs, and the parked-jobs sweep hands the parked ones over; each job gets one Hangfire job.
/// The sweep waits for the recovery (<see cref="StartRecovery"/>): run alongside it, while the recovery took jobs cut
/// off by a kill -9 back to the queue, the sweep handed the parked jobs over, and the recovery then enqueued them again.
/// </summary>
public sealed class ParkedRestartTests
{
    [Test]
    public async Task Restart_WithParkedJobsAndFreeSlots_GivesEachJobOneHangfireJob()
    {
        using var folder = TempFolder.Create("agentcorex-parked-");
        var data = folder.Path;
        var jobs = new List<string>();
        using (var first = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "0" }, data))
        {
            // Jobs a kill -9 cut off while running, ahead of them: the start's recovery takes each back to the
            // queue (echo is safe to retry) before it reads the queue, while the sweep hands the parked ones over.
            var other = await first.CreateKeyAsync(plan: "enterprise");
            var cutOff = Enumerable.Range(0, 400).Select(_ => Ledger.Job(other.KeyId, "echo", JobStatus.Running, at: DateTime.UtcNow.AddMinutes(-1))).ToList();
            await first.AddJobsAsync(cutOff);
            jobs.AddRange(cutOff.Select(j => j.Id));
            using var client = first.CreateClient((await first.CreateKeyAsync(plan: "free")).ApiKey); // one at once: the rest park
            for (var i = 0; i < 6; i++)
            {
                jobs.Add(await client.SubmitAsync("echo", new { message = $"job {i}" }));
            }
        }
        await AgentCorexApp.LetGoOfDatabaseAsync(data);

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
}
