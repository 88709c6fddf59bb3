using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// On the embedded default Hangfire forgets its jobs at a restart, but the ledger keeps each job's Hangfire id, and
/// the dashboard links ledger jobs (timed out, canceled) to them: an id must never name another job after a restart.
/// </summary>
public sealed class HangfireIdTests
{
    [Test]
    public async Task TheFirstJobsOfTwoStartsOnOneDatabase_HaveDifferentHangfireIds()
    {
        using var folder = TempFolder.Create("agentcorex-ids-");
        var data = folder.Path;
        var first = await FirstJobsHangfireIdAsync(data);
        await AgentCorexApp.LetGoOfDatabaseAsync(data);
        var second = await FirstJobsHangfireIdAsync(data);

        Assert.That(second, Is.Not.EqualTo(first), "a Hangfire id of the first start names another job after the restart");
    }

    private static async Task<string> FirstJobsHangfireIdAsync(string data)
    {
        using var app = new AgentCorexApp(dataDirectory: data);
        using var admin = app.CreateAdminClient();
        var jobId = await admin.SubmitAsync("echo", new { message = "numbered" });
        await admin.WaitForFinalAsync(jobId);
        return await app.HangfireIdAsync(jobId);
    }
}
