using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>The ledger never disagrees with Hangfire for long: a running job whose Hangfire job is gone gets repaired.</summary>
public sealed class ReconciliationTests
{
    [Test]
    public async Task RunningJob_WhoseHangfireJobVanished_IsRepaired()
    {
        using var app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Jobs:ReconcileInterval"] = "00:00:00.200",
            ["Jobs:ReconcileGrace"] = "00:00:00",
        });
        var key = await app.CreateKeyAsync();
        using var client = app.CreateClient(key.ApiKey);
        using (var scope = app.Services.CreateScope())
        {
            // As a crash between a run's end and its ledger update would leave them.
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            db.Jobs.AddRange(Orphan("job_orphanunsafe", "test_side_effect", """{"duration_ms":1}""", key.KeyId),
                Orphan("job_orphansafe01", "wait", """{"duration_ms":1}""", key.KeyId));
            await db.SaveChangesAsync();
        }

        var unsafeEnd = await client.WaitForFinalAsync("job_orphanunsafe");
        var safeEnd = await client.WaitForFinalAsync("job_orphansafe01");

        Assert.That(unsafeEnd.Str("status"), Is.EqualTo("failed"));
        Assert.That(unsafeEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
        Assert.That(safeEnd.Str("status"), Is.EqualTo("completed"), "a tool safe to retry is run again");
    }

    private static JobEntry Orphan(string id, string tool, string arguments, string owner) => new()
    {
        Id = id,
        HangfireId = "987654321",
        OwnerKeyId = owner,
        Tool = tool,
        Arguments = arguments,
        Status = JobStatus.Running,
        Attempt = 1,
        TimeoutMs = 30_000,
        CreatedAt = DateTime.UtcNow.AddMinutes(-5),
        StartedAt = DateTime.UtcNow.AddMinutes(-5),
    };
}
