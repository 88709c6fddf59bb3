using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.States;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// The Hangfire states a tool job goes through, as the dashboard shows them: a run that did not complete goes from
/// Processing straight to its final state, never through Succeeded, and Hangfire's counters agree. A fixture (and
/// server) of its own, so that its counters move only with these tests' jobs.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class HangfireStateTests(TestStorage storage) : ServerTest(storage)
{
    private static readonly string[] FinalStates = [SucceededState.StateName, FailedState.StateName, TimeoutState.StateName, CanceledState.StateName];

    private IMonitoringApi Monitoring => App.Services.GetRequiredService<JobStorage>().GetMonitoringApi();

    [Test]
    public async Task RunsThatDidNotComplete_GoFromProcessingStraightToTheirFinalState_AndAreNotCountedSucceeded()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var before = Counts();

        var failed = await client.SubmitAsync("fail", new { message = "no" });
        var timedOut = await client.SubmitAsync("wait", new { duration_ms = 5_000 }, timeoutMs: 100);
        var canceled = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
        await client.WaitForStatusAsync(canceled, "running");
        await client.DeleteAsync($"/jobs/{canceled}?force=true");
        var histories = new Dictionary<string, string[]>
        {
            [failed] = await FinalHistoryAsync(client, failed),
            [timedOut] = await FinalHistoryAsync(client, timedOut),
            [canceled] = await FinalHistoryAsync(client, canceled),
        };
        var after = Counts();

        Assert.Multiple(() =>
        {
            Assert.That(histories[failed], Is.EqualTo(new[] { EnqueuedState.StateName, ProcessingState.StateName, FailedState.StateName }), "no Succeeded, and no automatic retry");
            Assert.That(histories[timedOut], Is.EqualTo(new[] { EnqueuedState.StateName, ProcessingState.StateName, TimeoutState.StateName }));
            Assert.That(histories[canceled], Is.EqualTo(new[] { EnqueuedState.StateName, ProcessingState.StateName, CanceledState.StateName }));
            Assert.That(after.Succeeded, Is.EqualTo(before.Succeeded), "Hangfire's Succeeded count");
            Assert.That(after.SucceededToday, Is.EqualTo(before.SucceededToday), "the dashboard's Succeeded history");
            Assert.That(after.Failed, Is.EqualTo(before.Failed + 1), "Hangfire's Failed count");
            Assert.That(after.FailedToday, Is.EqualTo(before.FailedToday + 1), "the dashboard's Failed history");
        });
    }

    [Test]
    public async Task CompletedRun_IsSucceeded_AndCounted()
    {
        var before = Counts();

        var completed = await Admin.SubmitAsync("echo", new { message = "fine" });
        var history = await FinalHistoryAsync(Admin, completed);
        var after = Counts();

        Assert.That(history, Is.EqualTo(new[] { EnqueuedState.StateName, ProcessingState.StateName, SucceededState.StateName }));
        Assert.That(after.Succeeded, Is.EqualTo(before.Succeeded + 1));
        Assert.That(after.SucceededToday, Is.EqualTo(before.SucceededToday + 1));
    }

    /// <summary>
    /// A failed run expires from Hangfire as a completed one does. Hangfire's own Failed state is not final and never
    /// expires (it waits for a requeue): a soak test found every failed tool job kept in the embedded default's memory
    /// for good, and on a server database in hangfire.job.
    /// </summary>
    [Test]
    public async Task FailedRun_ExpiresFromHangfire_AsACompletedOneDoes()
    {
        var failed = await Admin.SubmitAsync("fail", new { message = "no" });
        var completed = await Admin.SubmitAsync("echo", new { message = "fine" });
        await FinalHistoryAsync(Admin, failed);
        await FinalHistoryAsync(Admin, completed);

        var failedExpiry = Monitoring.JobDetails(await App.HangfireIdAsync(failed)).ExpireAt;
        var completedExpiry = Monitoring.JobDetails(await App.HangfireIdAsync(completed)).ExpireAt;

        Assert.That(completedExpiry, Is.Not.Null, "a completed run's expiration");
        Assert.That(failedExpiry, Is.EqualTo(completedExpiry).Within(TimeSpan.FromMinutes(1)), "a failed run's expiration");
    }

    /// <summary>
    /// The Succeeded an election passes over (the fallback) is written into the job's history all the same, with the
    /// server's serializer settings: there too, no .NET type name, and not the message, which may be the tool's text.
    /// </summary>
    [Test]
    public void SucceededResult_OfARunThatFailed_IsItsStatusAndExecutionTime_WithoutTheMessage()
    {
        var succeeded = new SucceededState(new JobRunSummary(JobStatus.Failed, "password hunter2 refused", DateTime.UtcNow, TimeoutMs: 100, ExecutionTimeMs: 12), latency: 1, performanceDuration: 1);

        Assert.That(succeeded.SerializeData()["Result"], Is.EqualTo("""{"status":"failed","execution_time_ms":12}"""));
    }

    /// <summary>
    /// A tool's failure is stored once as its type and message, not again as "details" (its ToString, the same text),
    /// which are there but empty: Hangfire.PostgreSql's Failed list reads them.
    /// </summary>
    [Test]
    public void FailedData_OfAToolThatFailed_HasTheExceptionTypeAndMessage_AndNotTheirRepetition()
    {
        var failed = new ToolFailedState(new FailedState(new ToolJobFailedException("the receiver refused")) { Reason = "the receiver refused" });

        Assert.That(failed.SerializeData().Keys, Is.EquivalentTo(new[] { "FailedAt", "ExceptionType", "ExceptionMessage", "ExceptionDetails" }));
        Assert.That(failed.SerializeData()["ExceptionMessage"], Is.EqualTo("the receiver refused"));
        Assert.That(failed.SerializeData()["ExceptionDetails"], Is.Empty);
    }

    /// <summary>The Hangfire job's states, oldest first, once it has reached a final one.</summary>
    private async Task<string[]> FinalHistoryAsync(HttpClient client, string jobId)
    {
        await client.WaitForFinalAsync(jobId);
        var hangfireId = await App.HangfireIdAsync(jobId);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var history = Monitoring.JobDetails(hangfireId).History.OrderBy(h => h.CreatedAt).Select(h => h.StateName).ToArray();
            if (FinalStates.Contains(history.LastOrDefault()))
            {
                return history;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Hangfire job {hangfireId} ({jobId}) did not reach a final state in time: {string.Join(" → ", history)}");
            }
            await Task.Delay(20);
        }
    }

    private Figures Counts()
    {
        var statistics = Monitoring.GetStatistics();
        return new Figures(statistics.Succeeded, Today(Monitoring.SucceededByDatesCount()), statistics.Failed, Today(Monitoring.FailedByDatesCount()));
    }

    private static long Today(IDictionary<DateTime, long> byDate) => byDate.TryGetValue(DateTime.UtcNow.Date, out var count) ? count : 0;

    private sealed record Figures(long Succeeded, long SucceededToday, long Failed, long FailedToday);
}

/// <summary>The fallback, when a run could not move its Hangfire job itself: its state is elected in place of the worker's Succeeded.</summary>
public sealed class JobOutcomeStateFilterTests
{
    [TestCase(JobStatus.Failed, "Failed")]
    [TestCase(JobStatus.Timeout, TimeoutState.StateName)]
    [TestCase(JobStatus.Canceled, CanceledState.StateName)]
    [TestCase(JobStatus.Completed, "Succeeded")]
    [TestCase(JobStatus.Running, "Succeeded")]
    public void WorkersSucceeded_OfARun_IsReplacedByTheStateItEndedIn(string status, string elected)
    {
        var succeeded = new SucceededState(new JobRunSummary(status, "why", DateTime.UtcNow, TimeoutMs: 100), latency: 1, performanceDuration: 1);
        var context = new ElectStateContext(new ApplyStateContext(
            Mock.Of<JobStorage>(), Mock.Of<IStorageConnection>(), Mock.Of<IWriteOnlyTransaction>(),
            new BackgroundJob("1", job: null, DateTime.UtcNow), succeeded, ProcessingState.StateName));

        new JobOutcomeStateFilter().OnStateElection(context);

        Assert.That(context.CandidateState.Name, Is.EqualTo(elected));
    }
}
