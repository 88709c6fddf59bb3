using System.Net;
using AgentCorex.Tests.Dashboard;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using AgentCorex.Web.Storage;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// A cancel says who made it, in its log line, its Hangfire Canceled state's reason and the dashboard's Canceled list:
/// the job's owner, an admin key (by its id), or the revocation of the job's key (one line for all its queued jobs).
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class CancelReasonTests(TestStorage storage)
{
    private readonly CapturedLogs logs = new();
    private AgentCorexApp app = null!;
    private WebApplicationFactory<Program> logged = null!;
    private HttpClient dashboard = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        app = new AgentCorexApp(storage == TestStorage.PostgreSql ? await ServerTest.PostgreSqlSettingsAsync() : null);
        logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));
        dashboard = logged.CreateDashboardClient();
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        dashboard.Dispose();
        logged.Dispose();
        app.Dispose();
    }

    [Test]
    public async Task AnAdminKeysCancels_OfAnotherKeysJobs_NameTheAdminKey_WhileItsOwnersSayItsOwner()
    {
        // A free key runs one job at once: its second stays queued behind the first.
        var owner = await CreateKeyAsync("free", admin: false);
        var admin = await CreateKeyAsync("enterprise", admin: true);
        using var ownerClient = ClientOf(owner.ApiKey);
        using var adminClient = ClientOf(admin.ApiKey);
        var running = await ownerClient.SubmitAsync("wait", new { duration_ms = 60_000, steps = 60 });
        await ownerClient.WaitForStatusAsync(running, "running");
        var queued = await ownerClient.SubmitAsync("echo", new { message = "never" });
        var ownCanceled = await ownerClient.SubmitAsync("echo", new { message = "never either" });
        var hangfireId = await logged.HangfireIdAsync(running);

        Assert.That((await adminClient.DeleteAsync($"/jobs/{queued}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await ownerClient.DeleteAsync($"/jobs/{ownCanceled}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await adminClient.DeleteAsync($"/jobs/{running}?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var byAdmin = $"Canceled by admin key {admin.KeyId} while running";
        var jobPage = await dashboard.WaitForPageAsync($"/jobs/details/{hangfireId}", html => html.Contains("state-card-state-canceled", StringComparison.Ordinal), "the Canceled state");
        var list = await dashboard.GetPageAsync("/jobs/canceled");
        var lines = logs.Lines.ToList();

        Assert.Multiple(() =>
        {
            Assert.That(jobPage, Does.Contain(byAdmin).And.Not.Contain("by its owner"), "the Hangfire state's reason");
            Assert.That(lines, Has.Some.Contain($"Job {running} canceled by admin key {admin.KeyId} while running"));
            Assert.That(lines, Has.Some.Contain($"Job {queued} canceled by admin key {admin.KeyId} before it started"));
            Assert.That(lines, Has.Some.Contain($"Job {ownCanceled} canceled by its owner before it started"));
            Assert.That(DashboardPages.ListedRow(list, running), Does.Contain(byAdmin));
            Assert.That(DashboardPages.ListedRow(list, queued), Does.Contain($"Canceled by admin key {admin.KeyId} before it started"));
            Assert.That(DashboardPages.ListedRow(list, ownCanceled), Does.Contain("Canceled by its owner before it started"));
            Assert.That(lines, Has.None.Contain(admin.ApiKey), "an admin key is named by its id, never its secret");
        });
    }

    [Test]
    public async Task ARevocation_LogsHowManyQueuedJobsOfWhichKeyItCanceled()
    {
        var revoked = await CreateKeyAsync("free", admin: false);
        using var client = ClientOf(revoked.ApiKey);
        var running = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
        await client.WaitForStatusAsync(running, "running");
        var queued = new[] { await client.SubmitAsync("echo", new { message = "a" }), await client.SubmitAsync("echo", new { message = "b" }) };
        using var admin = ClientOf(AgentCorexApp.AdminKey);

        Assert.That((await admin.DeleteAsync($"/api_keys/{revoked.KeyId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var list = await dashboard.GetPageAsync("/jobs/canceled");

        Assert.Multiple(() =>
        {
            Assert.That(logs.Lines.Where(l => l.Contains(revoked.KeyId, StringComparison.Ordinal) && l.Contains("revocation", StringComparison.Ordinal)).ToList(),
                Has.Exactly(1).Contain($"The revocation of API key {revoked.KeyId} canceled 2 of its queued jobs"));
            foreach (var job in queued)
            {
                Assert.That(DashboardPages.ListedRow(list, job), Does.Contain("Canceled by the revocation of its API key before it started"));
            }
        });
        await admin.DeleteAsync($"/jobs/{running}?force=true");
    }

    [Test]
    public async Task AJobOfAKeyRevokedOnAnotherNode_CanceledByTheWorkerAtItsStart_IsLogged()
    {
        var revoked = await CreateKeyAsync("pro", admin: false);
        using var client = ClientOf(revoked.ApiKey);
        await client.WaitForFinalAsync(await client.SubmitAsync("echo", new { message = "the key is known here now" }));
        // Revoked as another node would: this node still knows the key from its cache, and takes its next submit.
        await using (var scope = logged.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().ApiKeys
                .Where(k => k.Id == revoked.KeyId).ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, DateTime.UtcNow));
        }
        var job = await client.SubmitAsync("echo", new { message = "never" });

        using var admin = ClientOf(AgentCorexApp.AdminKey);
        Assert.That((await admin.WaitForFinalAsync(job)).Str("status"), Is.EqualTo("canceled"));
        Assert.That(logs.Lines, Has.Some.Contain($"Job {job} canceled by the revocation of its API key {revoked.KeyId} before it started"));
    }

    private async Task<CreatedKey> CreateKeyAsync(string plan, bool admin)
    {
        using var client = ClientOf(AgentCorexApp.AdminKey);
        return await AgentCorexApp.CreateKeyAsync(client, plan, admin);
    }

    private HttpClient ClientOf(string apiKey)
    {
        var client = logged.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }
}
