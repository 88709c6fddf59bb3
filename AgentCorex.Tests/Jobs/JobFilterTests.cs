using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.Common;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>AgentCorex's own Hangfire jobs skip culture capture and continuations; other jobs keep them.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobFilterTests(TestStorage storage) : ServerTest(storage)
{
    [Test]
    public async Task ToolJob_StoresNoCulture_WhileAnotherJobOnTheStorageDoes()
    {
        var jobId = await Admin.SubmitAsync("echo", new { message = "x" });
        await Admin.WaitForStatusAsync(jobId, "completed");
        var hangfireId = await App.HangfireIdAsync(jobId);
        var foreign = App.Services.GetRequiredService<IBackgroundJobClient>().Enqueue(() => ForeignJob.Run());

        using var connection = App.Services.GetRequiredService<JobStorage>().GetConnection();
        Assert.Multiple(() =>
        {
            Assert.That(connection.GetJobParameter(hangfireId, "CurrentCulture"), Is.Null);
            Assert.That(connection.GetJobParameter(foreign, "CurrentCulture"), Is.Not.Null);
        });
    }

    [Test]
    public void Filters_OfAgentCorexJobs_LeaveOutCultureAndContinuations_Only()
    {
        var configured = new JobFilterCollection();
        configured.Add(new CaptureCultureAttribute());
        configured.Add(new ContinuationsSupportAttribute());
        configured.Add(new AutomaticRetryAttribute { Attempts = 0 });
        var filters = new AgentCorexJobFilters(configured);

        var ours = filters.GetFilters(Job.FromExpression<ToolJob>(j => j.RunAsync("job_x", "echo", "key_x", null, CancellationToken.None))).Select(f => f.Instance.GetType());
        var theirs = filters.GetFilters(Job.FromExpression(() => ForeignJob.Run())).Select(f => f.Instance.GetType());

        Assert.That(ours, Is.EquivalentTo(new[] { typeof(AutomaticRetryAttribute) }));
        Assert.That(theirs, Is.EquivalentTo(new[] { typeof(CaptureCultureAttribute), typeof(ContinuationsSupportAttribute), typeof(AutomaticRetryAttribute) }));
    }

    public static class ForeignJob
    {
        public static void Run()
        {
        }
    }
}
