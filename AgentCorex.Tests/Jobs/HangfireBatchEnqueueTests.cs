using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// The start's recovery hands queued jobs to Hangfire a batch at a time, on Hangfire.InMemory as the embedded default
/// runs it: each job is stored as Hangfire's client would store it, enqueued in the order given, without the client's
/// two round trips a job; where a client filter applies to tool jobs, the client makes each one, so that it runs.
/// The server's own storage and filters, its workers off so that what is enqueued stays to be read.
/// </summary>
public sealed class HangfireBatchEnqueueTests
{
    private static readonly QueuedJob[] Jobs = [new("job_a", "echo", "key_1"), new("job_b", "wait", "key_2"), new("job_c", "echo", "key_1")];

    private AgentCorexApp app = null!;
    private JobStorage storage = null!;

    [SetUp]
    public void StartServer()
    {
        app = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:WorkerCount"] = "0" });
        storage = app.Services.GetRequiredService<JobStorage>();
    }

    [TearDown]
    public void StopServer() => app.Dispose();

    [Test]
    public void Enqueue_StoresEachJobAsTheClientWould_InOrder_WithoutTheClient()
    {
        var client = new Mock<IBackgroundJobClient>(MockBehavior.Strict); // any call to it fails the test

        app.Services.GetRequiredService<HangfireBatchEnqueue>().Enqueue(Jobs, client.Object);
        var byClient = app.Services.GetRequiredService<IBackgroundJobClient>().Create(JobSubmitter.HangfireJob(Jobs[0]), new EnqueuedState());

        var monitoring = storage.GetMonitoringApi();
        var enqueued = monitoring.EnqueuedJobs(EnqueuedState.DefaultQueue, 0, 10);
        Assert.That(enqueued.Select(j => j.Value.Job.Args[0]), Is.EqualTo(Jobs.Select(j => j.Id).Append(Jobs[0].Id)), "in the order given, then the client's");
        var expected = Stored(storage, byClient);
        Assert.Multiple(() =>
        {
            foreach (var (id, _) in enqueued.Take(Jobs.Length))
            {
                Assert.That(Stored(storage, id) with { Args = expected.Args }, Is.EqualTo(expected), id);
            }
        });
    }

    [Test]
    public void Enqueue_GoesThroughTheClient_WhenAClientFilterAppliesToToolJobs()
    {
        var filters = new JobFilterCollection { new CaptureCultureAttribute() };

        new HangfireBatchEnqueue(storage, filters, TimeProvider.System).Enqueue(Jobs, new BackgroundJobClient(storage, filters));

        var enqueued = storage.GetMonitoringApi().EnqueuedJobs(EnqueuedState.DefaultQueue, 0, 10);
        using var connection = storage.GetConnection();
        Assert.Multiple(() =>
        {
            Assert.That(enqueued.Select(j => j.Value.Job.Args[0]), Is.EqualTo(Jobs.Select(j => j.Id)));
            Assert.That(enqueued.Select(j => connection.GetJobParameter(j.Key, "CurrentCulture")), Is.All.Not.Null, "the client filter ran for each job");
        });
    }

    /// <summary>What Hangfire keeps of a job that the API and the dashboard can tell apart.</summary>
    private static StoredJob Stored(JobStorage storage, string id)
    {
        using var connection = storage.GetConnection();
        var data = connection.GetJobData(id)!;
        var state = connection.GetStateData(id)!;
        var details = storage.GetMonitoringApi().JobDetails(id);
        return new StoredJob(
            data.Job.Type, data.Job.Method.Name, string.Join(",", data.Job.Args), data.State, state.Name, state.Data["Queue"],
            string.Join(",", state.Data.Keys.Order()), string.Join(",", details.Properties.Keys.Order()), details.ExpireAt, details.History.Count);
    }

    private sealed record StoredJob(
        Type Type, string Method, string Args, string State, string StateName, string Queue, string StateDataKeys, string Parameters, DateTime? ExpireAt, int History);
}
