using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// An event whose deliveries cannot be stored for the database being away is said in one Warning line, as the rest of an
/// outage is (README, Logs): it was an Error with the provider's whole stack trace, one per event, through every outage.
/// </summary>
public sealed class WebhookOutageLogTests
{
    [Test]
    public async Task Deliveries_NotStoredForTheDatabaseBeingAway_AreAWarningWithoutAStackTrace()
    {
        using var app = new AgentCorexApp();
        var logs = new CapturedLogs();
        using var logging = LoggerFactory.Create(builder => builder.AddProvider(logs));
        await using var scope = app.Services.CreateAsyncScope();
        // A database that cannot be opened (SQLITE_CANTOPEN), as a full disk or a stopped server leaves the node's.
        var gone = Path.Combine(Path.GetTempPath(), "agentcorex-gone-" + Guid.NewGuid().ToString("N"), "gone.db");
        await using var away = new AgentCorexDb(new DbContextOptionsBuilder<AgentCorexDb>().UseSqlite($"Data Source={gone};Mode=ReadWrite").Options);
        var events = ActivatorUtilities.CreateInstance<WebhookEvents>(scope.ServiceProvider, away, logging.CreateLogger<WebhookEvents>());

        await events.RaiseAsync(Ledger.Job("key_away", "echo", JobStatus.Completed), JobEventNames.Completed, JobEventNames.Bit(JobEventNames.Completed), CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(logs.At(LogLevel.Warning).Where(l => l.Contains("Could not store the webhook deliveries of job.completed")).ToList(), Has.Count.EqualTo(1));
            Assert.That(logs.At(LogLevel.Error), Is.Empty);
            Assert.That(logs.Lines.Where(l => l.Contains("\n   at ")), Is.Empty, "no stack trace");
        });
    }
}
