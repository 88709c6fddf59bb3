using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// The time a job's Hangfire Canceled state says it was canceled (shown in its history on the dashboard) is the
/// ledger's, by the server's clock: a job canceled while queued reaches that state only when a worker takes its
/// Hangfire job, which may be long after.
/// </summary>
public sealed class CanceledStateTests() : ServerTest(TestStorage.Embedded)
{
    // One worker, so that a job canceled while queued waits in Hangfire's queue behind a running one.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "1" };

    [Test]
    public async Task AJobCanceledWhileQueued_IsCanceledInHangfireAtTheLedgersTime_NotWhenAWorkerGotToIt()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var running = await client.SubmitAsync("wait", new { duration_ms = 1_500 });
        await client.WaitForStatusAsync(running, "running");
        var queued = await client.SubmitAsync("echo", new { message = "never runs" });
        var hangfireId = await EnqueuedHangfireJobAsync(queued);

        Assert.That((await client.DeleteAsync($"/jobs/{queued}")).IsSuccessStatusCode, Is.True, "canceled while queued");
        var canceledAt = await CanceledAtAsync(hangfireId);

        await using var scope = App.Services.CreateAsyncScope();
        var ledger = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking().SingleAsync(j => j.Id == queued);
        Assert.That(ledger.Status, Is.EqualTo(JobStatus.Canceled));
        Assert.That(canceledAt, Is.EqualTo(ledger.CompletedAt!.Value).Within(TimeSpan.FromMilliseconds(2)), "the ledger's completed_at, to the millisecond Hangfire keeps");
    }

    /// <summary>The Hangfire job waiting in the queue for <paramref name="jobId"/>.</summary>
    private async Task<string> EnqueuedHangfireJobAsync(string jobId)
    {
        var monitoring = App.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var enqueued = monitoring.EnqueuedJobs(EnqueuedState.DefaultQueue, 0, 100).FirstOrDefault(j => (string?)j.Value.Job?.Args[0] == jobId);
            if (enqueued.Key is { } id)
            {
                return id;
            }
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"{jobId} never waited in Hangfire's queue");
            await Task.Delay(20);
        }
    }

    /// <summary>The CanceledAt of the Hangfire job's Canceled state, once a worker has taken it there.</summary>
    private async Task<DateTime> CanceledAtAsync(string hangfireId)
    {
        var monitoring = App.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var canceled = monitoring.JobDetails(hangfireId).History.FirstOrDefault(h => h.StateName == CanceledState.StateName);
            if (canceled is not null)
            {
                return JobHelper.DeserializeDateTime(canceled.Data["CanceledAt"]);
            }
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"Hangfire job {hangfireId} never reached Canceled");
            await Task.Delay(20);
        }
    }
}
