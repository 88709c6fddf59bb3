using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentCorex.Tests.Storage;

/// <summary>
/// The embedded database's file deleted or replaced under a running server: SQLite's open connections would go on
/// writing to the file they opened, which no longer has a name, so jobs answered 202 would be missing at the next start.
/// Writes are refused instead, and the server stops, to be started again on the file it then finds.
/// </summary>
public sealed class EmbeddedDatabaseFileTests
{
    private AgentCorexApp app = null!;

    [SetUp]
    public void StartServer() => app = new AgentCorexApp();

    [TearDown]
    public void StopServer() => app.Dispose();

    private string DatabaseFile => Path.Combine(app.DataDirectory, "agentcorex.db");

    [Test]
    public async Task Submit_AfterTheDatabaseFileIsDeleted_IsDatabaseUnavailable_AndTheServerStops()
    {
        using var admin = app.CreateAdminClient();
        await admin.SubmitAsync("echo", new { message = "before" });

        File.Delete(DatabaseFile);
        var submit = await admin.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "after" } });
        var list = await admin.GetAsync("/jobs");

        var refused = await submit.ReadObjectAsync();
        var listed = await list.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(submit.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), refused.ToJsonString());
            Assert.That(refused.Str("error.code"), Is.EqualTo("DATABASE_UNAVAILABLE"));
            Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), listed);
            Assert.That(File.Exists(DatabaseFile), Is.False, "no connection made the file again, empty");
        });
        await StopsAsync();
    }

    [Test]
    public async Task TheServer_WhoseDatabaseFileIsReplaced_Stops()
    {
        using var admin = app.CreateAdminClient();
        await admin.SubmitAsync("echo", new { message = "before" });
        var restored = Path.Combine(app.DataDirectory, "restored.db");
        File.Copy(DatabaseFile, restored);

        File.Move(restored, DatabaseFile, overwrite: true);

        await StopsAsync();
    }

    private async Task StopsAsync()
    {
        var stopping = app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!stopping.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.That(stopping.IsCancellationRequested, Is.True, "the server stops");
    }
}
