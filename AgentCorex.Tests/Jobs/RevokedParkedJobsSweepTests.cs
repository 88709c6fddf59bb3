using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>The sweep of parked jobs cancels those of a revoked key: no freed slot ever hands them over.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class RevokedParkedJobsSweepTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?> { ["Jobs:ReconcileInterval"] = "00:00:00.2" };

    [Test]
    public async Task Sweep_CancelsARevokedKeysParkedJobs_WithTheirCanceledEvents()
    {
        var key = await App.CreateKeyAsync("pro");
        var endpoint = Receiver.NewEndpoint();
        using (var client = App.CreateClient(key.ApiKey))
        {
            await client.RegisterWebhookAsync(endpoint, "job.canceled");
        }
        (await Admin.DeleteAsync($"/api_keys/{key.KeyId}")).EnsureSuccessStatusCode();
        // Parked after the revocation's cancel read the key's jobs: by a submit authenticated before it, here or on a
        // node that had not heard of it yet (or left by a cancel a stop cut short).
        var parked = RevokedKeyJobsSeed.Parked(key.KeyId, 3);
        await App.AddJobsAsync(parked);

        Assert.That(await RevokedKeyJobsSeed.UntilNoneQueuedAsync(App, key.KeyId), Is.EqualTo(parked.Count));
        var received = await Receiver.WaitForAsync(endpoint, parked.Count);
        Assert.Multiple(() =>
        {
            Assert.That(received.Select(r => r.Event), Is.All.EqualTo("job.canceled"));
            Assert.That(received.Select(r => r.Json.Str("job.job_id")), Is.EquivalentTo(parked.Select(j => j.Id)));
        });
    }
}

internal static class RevokedKeyJobsSeed
{
    public static List<JobEntry> Parked(string keyId, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => Ledger.Job(keyId, "echo", JobStatus.Queued)).Select(j => { j.Parked = true; j.Attempt = 0; return j; })];

    /// <summary>Polls until none of the key's jobs is queued; how many are canceled then. Fails after a deadline.</summary>
    public static async Task<int> UntilNoneQueuedAsync(AgentCorexApp app, string keyId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            await using var scope = app.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            var statuses = await db.Jobs.AsNoTracking().Where(j => j.OwnerKeyId == keyId).GroupBy(j => j.Status).ToDictionaryAsync(g => g.Key, g => g.Count());
            if (statuses.GetValueOrDefault(JobStatus.Queued) == 0)
            {
                return statuses.GetValueOrDefault(JobStatus.Canceled);
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{statuses.GetValueOrDefault(JobStatus.Queued)} of key {keyId}'s jobs still queued");
            }
            await Task.Delay(50);
        }
    }
}
