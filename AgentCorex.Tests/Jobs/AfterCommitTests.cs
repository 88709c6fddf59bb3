using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Tests.Jobs;

/// <summary>Steps that follow a stored change (a revocation, a submit) go on when the client that asked for it goes away.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class AfterCommitTests(TestStorage storage) : WebhookServerTest(storage)
{
    // No sweep of parked jobs after the start's: what a test sees canceled, the request canceled.
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?> { ["Jobs:ReconcileInterval"] = "01:00:00" };

    [Test]
    public async Task Revoke_CancelsAllTheKeysParkedJobs_WhenItsClientGoesAwayPartWay()
    {
        var key = await App.CreateKeyAsync("pro");
        var parked = RevokedKeyJobsSeed.Parked(key.KeyId, 20);
        await App.AddJobsAsync(parked);
        using var gone = new CancellationTokenSource();
        using var firstCanceled = new FirstMeasurement(App, "agentcorex.jobs.finished", tags => Equals(tags["status"], JobStatus.Canceled), gone.Cancel);

        Assert.CatchAsync<OperationCanceledException>(() => Admin.DeleteAsync($"/api_keys/{key.KeyId}", gone.Token));

        Assert.That(firstCanceled.Fired, "the client went away after the first of its jobs was canceled");
        Assert.That(await RevokedKeyJobsSeed.UntilNoneQueuedAsync(App, key.KeyId), Is.EqualTo(parked.Count), "canceled, all of them");
    }

    [Test]
    public async Task Submit_RaisesItsQueuedEvent_WhenItsClientGoesAwayAfterTheJobIsStored()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var endpoint = Receiver.NewEndpoint();
        await client.RegisterWebhookAsync(endpoint, "job.queued");
        using var gone = new CancellationTokenSource();
        using var submitted = new FirstMeasurement(App, "agentcorex.jobs.submitted", _ => true, gone.Cancel);

        Assert.CatchAsync<OperationCanceledException>(() =>
            client.PostAsJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "gone" } }, gone.Token));

        Assert.That(submitted.Fired, "the client went away once the job was stored");
        // Not left to the webhook repair sweep (Webhooks:RepairGrace, 2 minutes).
        var received = await Receiver.WaitForAsync(endpoint, 1, within: TimeSpan.FromSeconds(10));
        Assert.That(received.Single().Event, Is.EqualTo("job.queued"));
    }
}
