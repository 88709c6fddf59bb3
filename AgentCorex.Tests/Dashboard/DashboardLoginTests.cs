using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Dashboard;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Dashboard;

/// <summary>The dashboard's login form and its session cookie, besides basic auth (see DashboardTests).</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class DashboardLoginTests(TestStorage storage) : ServerTest(storage)
{
    private const string Cookie = "agentcorex_dashboard";

    /// <summary>A client that neither follows redirects nor keeps cookies: each test sends what it means to.</summary>
    private HttpClient Browserless() => App.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    private static HttpRequestMessage Get(string path, string? session = null, bool html = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (session is not null)
        {
            request.Headers.Add("Cookie", $"{Cookie}={session}");
        }
        if (html)
        {
            request.Headers.Add("Accept", "text/html,application/xhtml+xml");
        }
        return request;
    }

    private static FormUrlEncodedContent Form(string? key, string? returnTo = null) =>
        new([.. key is null ? [] : new[] { new KeyValuePair<string, string>("key", key) }, .. returnTo is null ? [] : new[] { new KeyValuePair<string, string>("return", returnTo) }]);

    /// <summary>Logs in with the key; returns the session cookie's value and the whole Set-Cookie header.</summary>
    private async Task<(string Session, string SetCookie, HttpResponseMessage Response)> LogInAsync(HttpClient client, string key, string? returnTo = null)
    {
        var response = await client.PostAsync("/hangfire/login", Form(key, returnTo));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), await response.Content.ReadAsStringAsync());
        var setCookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(Cookie + "=", StringComparison.Ordinal));
        return (setCookie[(Cookie.Length + 1)..setCookie.IndexOf(';', StringComparison.Ordinal)], setCookie, response);
    }

    /// <summary>What a session cookie holds, as the server's Data Protection reads it.</summary>
    private string Unprotected(string session) =>
        App.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(DashboardLogin.SessionPurpose).ToTimeLimitedDataProtector()
            .Unprotect(Uri.UnescapeDataString(session));

    [Test]
    public async Task ABrowser_WithoutAKey_GetsTheLoginForm_AsTheBodyOfA401()
    {
        using var client = Browserless();

        var response = await client.SendAsync(Get("/hangfire/jobs/succeeded?from=20", html: true));
        var page = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Basic realm="), "basic auth still works for browsers and scripts");
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
            Assert.That(page, Does.Contain("""<form method="post" action="/hangfire/login">"""));
            Assert.That(page, Does.Contain("""name="return" value="/hangfire/jobs/succeeded?from=20"""), "back to the page it asked for");
        });
    }

    [Test]
    public async Task AnAdminKey_LogsIn_WithASessionCookie_ThatOpensTheDashboard_UntilLoggedOut()
    {
        using var client = Browserless();

        var (session, setCookie, response) = await LogInAsync(client, AgentCorexApp.AdminKey, "/hangfire/jobs/succeeded");
        var dashboard = await client.SendAsync(Get("/hangfire", session));
        var page = await dashboard.Content.ReadAsStringAsync();
        var loggedOut = await client.SendAsync(Get("/hangfire/logout", session));

        Assert.Multiple(() =>
        {
            Assert.That(response.Headers.Location?.ToString(), Is.EqualTo("/hangfire/jobs/succeeded"));
            Assert.That(setCookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=strict").IgnoreCase.And.Contain("path=/hangfire").IgnoreCase);
            Assert.That(setCookie, Does.Contain("expires=").IgnoreCase, "a session that ends");
            Assert.That(Unprotected(session), Does.Not.Contain(AgentCorexApp.AdminKey), "the cookie holds which key opened the session, not the key");
            Assert.That(dashboard.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(page, Does.Contain("AgentCorex jobs").And.Contain("Log out"));
            Assert.That(loggedOut.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(loggedOut.Headers.Location?.ToString(), Is.EqualTo("/hangfire/login"));
            Assert.That(loggedOut.Headers.GetValues("Set-Cookie").Single(), Does.StartWith(Cookie + "=;").And.Contain("expires=Thu, 01 Jan 1970").IgnoreCase);
        });
    }

    [Test]
    public async Task OtherKeys_AndNoKey_DoNotLogIn()
    {
        var user = await App.CreateKeyAsync(plan: "enterprise");
        using var client = Browserless();

        foreach (var (what, form) in new (string, HttpContent?)[]
        {
            ("a user key", Form(user.ApiKey)),
            ("a wrong key", Form("acx_wrong")),
            ("a key longer than any", Form(new string('k', 100_000))),
            ("an empty key", Form("")),
            ("no key", Form(null)),
            ("no form", null),
        })
        {
            var response = await client.PostAsync("/hangfire/login", form);
            Assert.Multiple(async () =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), what);
                Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Form ").And.Not.Contain("Basic"),
                    what + ": the form shows its error, without a browser's prompt over it");
                Assert.That(response.Headers.Contains("Set-Cookie"), Is.False, what);
                Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("That is not an admin key of this server."), what);
            });
        }
    }

    [Test]
    public async Task ASession_EndsWhenItsKeyIsRevoked_AndAnAlteredOneOpensNothing()
    {
        var created = await App.CreateKeyAsync(admin: true);
        using var client = Browserless();
        var (session, _, _) = await LogInAsync(client, created.ApiKey);
        Assert.That((await client.SendAsync(Get("/hangfire", session))).StatusCode, Is.EqualTo(HttpStatusCode.OK), "before the revocation");
        Assert.That(Unprotected(session), Does.EndWith(" " + created.KeyId).And.Not.Contain(created.ApiKey), "the cookie holds the key's id, not its secret");

        await Admin.DeleteAsync($"/api_keys/{created.KeyId}");
        var afterRevocation = await client.SendAsync(Get("/hangfire", session));
        var altered = await client.SendAsync(Get("/hangfire", session[..^4] + (session.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA")));
        var garbage = await client.SendAsync(Get("/hangfire", "not-a-session"));

        Assert.Multiple(() =>
        {
            Assert.That(afterRevocation.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(altered.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(garbage.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        });
    }

    [Test]
    public async Task LoggingOut_EndsTheSession_ForAClientThatKeptItsCookie_AndOnlyThatSession()
    {
        using var client = Browserless();
        var (loggedOut, _, _) = await LogInAsync(client, AgentCorexApp.AdminKey);
        var (other, _, _) = await LogInAsync(client, AgentCorexApp.AdminKey);
        Assert.That((await client.SendAsync(Get("/hangfire", loggedOut))).StatusCode, Is.EqualTo(HttpStatusCode.OK), "before logging out");

        var logout = await client.SendAsync(Get("/hangfire/logout", loggedOut));
        var page = await client.SendAsync(Get("/hangfire/jobs/succeeded", loggedOut));
        using var stats = new HttpRequestMessage(HttpMethod.Post, "/hangfire/stats") { Content = new FormUrlEncodedContent([new("metrics[]", "enqueued:count")]) };
        stats.Headers.Add("Cookie", $"{Cookie}={loggedOut}");
        var statsAnswer = await client.SendAsync(stats);
        var otherSession = await client.SendAsync(Get("/hangfire", other));

        Assert.Multiple(() =>
        {
            Assert.That(logout.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the old cookie, sent again, opens nothing");
            Assert.That(statsAnswer.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "nor the stats");
            Assert.That(otherSession.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another session of the same key goes on");
        });
    }

    [TestCase("cross-site")]
    [TestCase("same-site")]
    public async Task ALogoutAskedByAnotherSitesPage_EndsNothing(string fetchSite)
    {
        using var client = Browserless();
        var (session, _, _) = await LogInAsync(client, AgentCorexApp.AdminKey);

        var fromElsewhere = Get("/hangfire/logout", session);
        fromElsewhere.Headers.Add("Sec-Fetch-Site", fetchSite);
        var refused = await client.SendAsync(fromElsewhere);
        var after = await client.SendAsync(Get("/hangfire", session));
        var fromTheDashboard = Get("/hangfire/logout", session);
        fromTheDashboard.Headers.Add("Sec-Fetch-Site", "same-origin");
        await client.SendAsync(fromTheDashboard);
        var afterLoggingOut = await client.SendAsync(Get("/hangfire", session));

        Assert.Multiple(() =>
        {
            Assert.That(refused.Headers.Contains("Set-Cookie"), Is.False, "the cookie is left as it is");
            Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the session goes on");
            Assert.That(afterLoggingOut.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the dashboard's own menu still logs out");
        });
    }

    [TestCase("https://elsewhere.example/")]
    [TestCase("//elsewhere.example/hangfire")]
    [TestCase("/hangfire//elsewhere.example")]
    [TestCase("/hangfire/\\elsewhere.example")]
    [TestCase("/hangfirex")]
    [TestCase("/hangfire/login")]
    [TestCase("/hangfire/logout")]
    [TestCase("/hangfire/jobs\r\nSet-Cookie: x=y")]
    [TestCase("/hangfire/jobs/é")]
    public async Task TheReturnPath_IsAPageOfTheDashboard_NeverAnotherSite(string asked)
    {
        using var client = Browserless();

        var (_, _, response) = await LogInAsync(client, AgentCorexApp.AdminKey, asked);

        Assert.That(response.Headers.Location?.ToString(), Is.EqualTo("/hangfire"));
    }

    [Test]
    public async Task TheLoginRoute_AnswersGetHeadAndPost_AndOtherMethodsInTheContractsShape()
    {
        using var client = Browserless();

        var form = await client.GetAsync("/hangfire/login");
        var put = await client.PutAsync("/hangfire/login", Form(AgentCorexApp.AdminKey));

        Assert.Multiple(async () =>
        {
            Assert.That(form.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await form.Content.ReadAsStringAsync(), Does.Contain("""<form method="post" action="/hangfire/login">"""));
            Assert.That(await form.Content.ReadAsStringAsync(), Does.Contain("""<link rel="icon" href="data:,">"""), "no request for /favicon.ico, which is a 404");
            Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
            Assert.That((await put.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"));
            Assert.That(put.Content.Headers.Allow, Is.EquivalentTo(new[] { "GET", "HEAD", "POST" }));
        });
    }
}
