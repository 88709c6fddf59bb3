using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AgentCorex.Tests.Dashboard;

/// <summary>
/// A dashboard session outlives a restart (its Data Protection key ring and its row are in the database), but not the
/// configured admin key that opened it, nor a logout: configuring another key ends the sessions of the one before, and
/// a logout on one node ends the session on all of them.
/// </summary>
[NonParallelizable]
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class DashboardSessionRestartTests(TestStorage storage)
{
    private const string RotatedKey = "test-admin-key-rotated-9876543210";

    [Test]
    public async Task ASessionOfTheConfiguredKey_OutlivesARestart_ButNotAnotherKeyConfigured()
    {
        using var folder = TempFolder.Create("agentcorex-dashboard-session-");
        var settings = storage == TestStorage.PostgreSql
            ? await ServerTest.PostgreSqlSettingsAsync()
            : new Dictionary<string, string?>();

        string session;
        using (var first = new AgentCorexApp(settings, folder.Path))
        {
            using var client = Browserless(first);
            session = await LogInAsync(client);
        }

        var sameKey = await DashboardStatusAfterRestartAsync(settings, folder.Path, session);
        var rotated = await DashboardStatusAfterRestartAsync(new Dictionary<string, string?>(settings) { ["Auth:AdminKey"] = RotatedKey }, folder.Path, session);

        Assert.Multiple(() =>
        {
            Assert.That(sameKey, Is.EqualTo(HttpStatusCode.OK), "the same key configured: the session goes on");
            Assert.That(rotated, Is.EqualTo(HttpStatusCode.Unauthorized), "another key configured: the old key's session ends");
        });
    }

    [Test]
    public async Task ALoggedOutSession_StaysEnded_OnAnotherNode_AndAfterARestart()
    {
        using var folder = TempFolder.Create("agentcorex-dashboard-logout-");
        var settings = storage == TestStorage.PostgreSql
            ? await ServerTest.PostgreSqlSettingsAsync()
            : new Dictionary<string, string?>();

        string session;
        HttpStatusCode? otherNodeBefore = null, otherNodeAfter = null;
        using (var first = new AgentCorexApp(settings, folder.Path))
        {
            using var client = Browserless(first);
            session = await LogInAsync(client);
            // The embedded database has one node; on PostgreSQL a second one shares it, as a cluster's nodes do.
            using var second = storage == TestStorage.PostgreSql ? new AgentCorexApp(settings) : null;
            using var secondClient = second is null ? null : Browserless(second);
            if (secondClient is not null)
            {
                otherNodeBefore = await DashboardStatusAsync(secondClient, session);
            }
            using var logout = new HttpRequestMessage(HttpMethod.Get, "/hangfire/logout");
            logout.Headers.Add("Cookie", session);
            Assert.That((await client.SendAsync(logout)).StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            if (secondClient is not null)
            {
                otherNodeAfter = await DashboardStatusAsync(secondClient, session);
            }
        }

        var afterRestart = await DashboardStatusAfterRestartAsync(settings, folder.Path, session);

        Assert.Multiple(() =>
        {
            if (storage == TestStorage.PostgreSql)
            {
                Assert.That(otherNodeBefore, Is.EqualTo(HttpStatusCode.OK), "another node opens the session");
                Assert.That(otherNodeAfter, Is.EqualTo(HttpStatusCode.Unauthorized), "and ends it with the logout on the first");
            }
            Assert.That(afterRestart, Is.EqualTo(HttpStatusCode.Unauthorized), "a restart does not bring it back");
        });
    }

    /// <summary>Logs in with the configured admin key; returns the session's Cookie header.</summary>
    private static async Task<string> LogInAsync(HttpClient client)
    {
        var login = await client.PostAsync("/hangfire/login", new FormUrlEncodedContent([new("key", AgentCorexApp.AdminKey)]));
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        var setCookie = login.Headers.GetValues("Set-Cookie").Single();
        return setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static async Task<HttpStatusCode> DashboardStatusAsync(HttpClient client, string session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hangfire");
        request.Headers.Add("Cookie", session);
        return (await client.SendAsync(request)).StatusCode;
    }

    private async Task<HttpStatusCode> DashboardStatusAfterRestartAsync(IDictionary<string, string?> settings, string data, string session)
    {
        if (storage == TestStorage.Embedded)
        {
            await AgentCorexApp.LetGoOfDatabaseAsync(data);
        }
        using var app = new AgentCorexApp(settings, data);
        using var client = Browserless(app);
        return await DashboardStatusAsync(client, session);
    }

    private static HttpClient Browserless(AgentCorexApp app) =>
        app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
}
