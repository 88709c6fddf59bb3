using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A restart of the embedded default with more queued jobs than one batch of the start's recovery: Hangfire's queue gets
/// each of them once, in the order they were created (first come, first served), and a job submitted once the server
/// answers comes after them all.
/// </summary>
public sealed class RecoveryOrderTests
{
    [Test]
    public async Task Restart_EnqueuesTheQueuedJobsOnceInTheirOrder_AheadOfANewSubmit()
    {
        using var folder = TempFolder.Create("agentcorex-recovery-order-");
        var settings = new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "0" }; // nothing runs: the queue stays to be read
        var created = DateTime.UtcNow.AddMinutes(-5);
        List<string> inOrder;
        using (var first = new AgentCorexApp(settings, folder.Path))
        {
            var key = await first.CreateKeyAsync(plan: "enterprise");
            var jobs = Enumerable.Range(0, 1_200).Select(i => Ledger.Job(key.KeyId, "echo", JobStatus.Queued, at: created.AddMilliseconds(i))).ToList();
            inOrder = jobs.Select(j => j.Id).ToList();
            await first.AddJobsAsync(jobs.OrderBy(_ => Random.Shared.Next())); // stored in another order than they were created
        }
        await AgentCorexApp.LetGoOfDatabaseAsync(folder.Path);

        using var second = new AgentCorexApp(settings, folder.Path);
        using var admin = second.CreateAdminClient();
        var submitted = await admin.SubmitAsync("echo", new { message = "after the restart" });

        var enqueued = second.Services.GetRequiredService<JobStorage>().GetMonitoringApi()
            .EnqueuedJobs(EnqueuedState.DefaultQueue, 0, 10_000).Select(j => (string)j.Value.Job.Args[0]).ToList();
        Assert.That(enqueued, Is.EqualTo(inOrder.Append(submitted)));
        Assert.That((await admin.GetJobAsync(submitted)).At("position_in_queue")!.GetValue<long>(), Is.EqualTo(inOrder.Count + 1));
    }
}
