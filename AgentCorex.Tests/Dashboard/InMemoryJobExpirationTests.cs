using AgentCorex.Tests.Infrastructure;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Dashboard;

/// <summary>Jobs:InMemoryJobExpiration: how long the embedded default's Hangfire keeps a finished job (and its memory).</summary>
public sealed class InMemoryJobExpirationTests() : DashboardTest(TestStorage.Embedded)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Jobs:InMemoryJobExpiration"] = "00:10:00" };

    [Test]
    public async Task AFinishedJob_ExpiresFromHangfire_AfterTheSetTime_AsTheDashboardSays()
    {
        var key = await App.CreateKeyAsync("pro");
        using var client = App.CreateClient(key.ApiKey);
        var job = await client.SubmitAsync("echo", new { message = "kept ten minutes" });
        await client.WaitForFinalAsync(job);
        var hangfireId = await App.HangfireIdAsync(job);

        // The run ends in Hangfire a moment after the ledger has it: its expiration is set then.
        DateTime? expireAt = null;
        for (var tries = 0; tries < 100 && expireAt is null; tries++)
        {
            expireAt = App.Services.GetRequiredService<JobStorage>().GetMonitoringApi().JobDetails(hangfireId)?.ExpireAt;
            await Task.Delay(50);
        }
        var page = await Dashboard.GetPageAsync("/jobs/timeout");

        Assert.Multiple(() =>
        {
            Assert.That(expireAt, Is.EqualTo(DateTime.UtcNow.AddMinutes(10)).Within(TimeSpan.FromMinutes(1)), "Hangfire.InMemory's own expiration of the job");
            Assert.That(page, Does.Contain("a Hangfire job also expires 10 minutes after it ends, once 100000 jobs have ended after it, or at a restart of this embedded server"));
        });
    }
}
