using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AgentCorex.Tests.Dashboard;

/// <summary>
/// A dashboard session outlives a restart (its Data Protection key ring is in the database), but not the configured
/// admin key that opened it: configuring another key ends the sessions of the one before.
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
            var login = await client.PostAsync("/hangfire/login", new FormUrlEncodedContent([new("key", AgentCorexApp.AdminKey)]));
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
            var setCookie = login.Headers.GetValues("Set-Cookie").Single();
            session = setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)];
        }

        var sameKey = await DashboardStatusAfterRestartAsync(settings, folder.Path, session);
        var rotated = await DashboardStatusAfterRestartAsync(new Dictionary<string, string?>(settings) { ["Auth:AdminKey"] = RotatedKey }, folder.Path, session);

        Assert.Multiple(() =>
        {
            Assert.That(sameKey, Is.EqualTo(HttpStatusCode.OK), "the same key configured: the session goes on");
            Assert.That(rotated, Is.EqualTo(HttpStatusCode.Unauthorized), "another key configured: the old key's session ends");
        });
    }

    private async Task<HttpStatusCode> DashboardStatusAfterRestartAsync(IDictionary<string, string?> settings, string data, string session)
    {
        if (storage == TestStorage.Embedded)
        {
            await AgentCorexApp.LetGoOfDatabaseAsync(data);
        }
        using var app = new AgentCorexApp(settings, data);
        using var client = Browserless(app);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/hangfire");
        request.Headers.Add("Cookie", session);
        return (await client.SendAsync(request)).StatusCode;
    }

    private static HttpClient Browserless(AgentCorexApp app) =>
        app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
}
