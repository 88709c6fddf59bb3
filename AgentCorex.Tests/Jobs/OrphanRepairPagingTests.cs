using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// The repair pass checks a page of running jobs a pass, the next page at the next pass. 500 jobs that legitimately
/// run for hours filled the page of every pass when each pass read the same 500 oldest, so an orphan started after
/// them (its Hangfire job gone) was never repaired.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class OrphanRepairPagingTests(TestStorage storage) : ServerTest(storage)
{
    // Nothing runs; the pass runs every second and looks at every job started before it.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "0",
        ["Jobs:ReconcileInterval"] = "00:00:01",
        ["Jobs:ReconcileGrace"] = "00:00:00",
    };

    [Test]
    public async Task AnOrphan_IsRepaired_ThoughFiveHundredLongJobsStartedBeforeIt()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        // One Hangfire job that will run, standing for each long job's own: the pass finds each of them live.
        var live = App.Services.GetRequiredService<IBackgroundJobClient>().Create(
            JobSubmitter.HangfireJob(new QueuedJob("job_standin", "wait", key.KeyId)), new ScheduledState(TimeSpan.FromDays(1)));
        var seeded = Enumerable.Range(0, 500).Select(i =>
        {
            var job = Ledger.Job(key.KeyId, "wait", JobStatus.Running, at: DateTime.UtcNow.AddHours(-3).AddSeconds(i));
            job.HangfireId = live;
            return job;
        }).ToList();
        var orphan = Ledger.Job(key.KeyId, "test_side_effect", JobStatus.Running, at: DateTime.UtcNow.AddMinutes(-1));
        orphan.HangfireId = "987654321"; // gone, as a crash leaves it
        seeded.Add(orphan);
        await App.AddJobsAsync(seeded);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        string status;
        do
        {
            await Task.Delay(200);
            await using var scope = App.Services.CreateAsyncScope();
            status = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking()
                .Where(j => j.Id == orphan.Id).Select(j => j.Status).SingleAsync();
        }
        while (status == JobStatus.Running && DateTime.UtcNow < deadline);

        Assert.That(status, Is.EqualTo(JobStatus.Failed), "repaired by one of the passes of the last 10 s (not safe to retry: failed)");
    }
}
