using System.Text.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Api;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A run cut off (its node died) whose Hangfire job Hangfire requeues runs again under the same Hangfire job, where the
/// cut-off run's progress is stored: GET showed it for the new run until that run's first report.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class CutOffProgressTests(TestStorage storage) : ServerTest(storage)
{
    [Test]
    public async Task ARunAgainUnderTheSameHangfireJob_DoesNotShowTheCutOffRunsProgress()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        using var client = App.CreateClient(key.ApiKey);
        // As the dead node left it: running in the ledger under a Hangfire job that holds its progress. Scheduled, so that
        // no worker takes it before the test requeues it, as Hangfire does a job whose server stopped answering.
        var job = Ledger.Job(key.KeyId, "echo", JobStatus.Running, arguments: """{"message":"again"}""");
        var hangfire = App.Services.GetRequiredService<IBackgroundJobClient>();
        job.HangfireId = hangfire.Create(JobSubmitter.HangfireJob(new QueuedJob(job.Id, job.Tool, job.OwnerKeyId)), new ScheduledState(TimeSpan.FromDays(1)));
        var jobs = App.Services.GetRequiredService<JobStorage>();
        using (var connection = jobs.GetConnection())
        {
            connection.SetJobParameter(job.HangfireId, JobProgressPublisher.ParameterName,
                JsonSerializer.Serialize(new ToolProgress("before the cut-off", 4, 75), ApiJson.Options));
        }
        await App.AddJobsAsync([job]);

        hangfire.Requeue(job.HangfireId);
        var ended = await client.WaitForFinalAsync(job.Id);

        Assert.That((ended.Str("status"), ended.Str("result.message")), Is.EqualTo(("completed", "again")), "run again: echo is safe to retry");
        // echo reports no progress: what its run was shown with is what the Hangfire job holds.
        Assert.That(JobProgressPublisher.Read(jobs, job.HangfireId), Is.Null);
    }
}
