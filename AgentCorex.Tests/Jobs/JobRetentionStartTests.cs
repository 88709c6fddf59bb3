using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// Jobs:Retention is opt-in: a server without it has no sweep and keeps every job; one started with it sweeps at
/// once, deleting the jobs that ended before the retention, and logs how many in one line.
/// </summary>
public sealed class JobRetentionStartTests
{
    [Test]
    public async Task AServerStartedWithARetention_DeletesTheJobsThatEndedBeforeIt_AndLogsHowMany()
    {
        using var folder = TempFolder.Create("agentcorex-retention-");
        var old = DateTime.UtcNow.AddDays(-8);
        var young = DateTime.UtcNow.AddDays(-6);
        var expired = new[] { Ledger.Job("key_retained", "echo", JobStatus.Completed, at: old), Ledger.Job("key_retained", "fail", JobStatus.Failed, at: old) };
        var kept = Ledger.Job("key_retained", "echo", JobStatus.Completed, at: young);
        using (var keepingAll = new AgentCorexApp(dataDirectory: folder.Path))
        {
            Assert.That(keepingAll.Services.GetService<JobRetention>(), Is.Null, "the default keeps every job");
            await keepingAll.AddJobsAsync([.. expired, kept]);
        }
        await AgentCorexApp.LetGoOfDatabaseAsync(folder.Path);

        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["Jobs:Retention"] = "7.00:00:00" }, folder.Path);
        using var logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));
        // The factory starts the server at its first use: started here, or the poll below would wait for a sweep
        // that cannot run, and the read after it race the sweep at the start.
        _ = logged.Services;
        // Polled until the sweep has logged, after its last delete.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (SweepLines(logs).Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.That(SweepLines(logs), Is.Not.Empty, "the sweep at the start logged within 10 s");

        await using var scope = logged.Services.CreateAsyncScope();
        var left = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.OwnerKeyId == "key_retained").Select(j => j.Id).ToListAsync();
        Assert.That(left, Is.EqualTo(new[] { kept.Id }));
        Assert.That(SweepLines(logs), Has.Count.EqualTo(1).And.One.Contains(": Deleted 2 job(s) that ended before "));
    }

    private static List<string> SweepLines(CapturedLogs logs) =>
        [.. logs.At(LogLevel.Information).Where(l => l.StartsWith("AgentCorex.Web.Jobs.JobRetention: ", StringComparison.Ordinal))];
}
