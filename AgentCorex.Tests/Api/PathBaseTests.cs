using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Dashboard;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AgentCorex.Tests.Api;

/// <summary>
/// Server:PathBase, for a reverse proxy that forwards https://host/agentcorex/ to the server unstripped: every URL the
/// server writes stays under the prefix, or a client that follows one leaves the proxy's location.
/// </summary>
public sealed partial class PathBaseTests : ServerTest
{
    private const string Prefix = "/agentcorex";

    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Server:PathBase"] = Prefix };

    /// <summary>A client as a browser behind the proxy is: no redirect followed, no cookie kept, each test sends what it means to.</summary>
    private HttpClient Browserless() => App.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

    [Test]
    public async Task WhatTheApiCreates_IsLocatedUnderThePrefix()
    {
        using var admin = App.CreateAdminClient();

        var submitted = await admin.PostJsonAsync(Prefix + "/jobs/submit", new { tool = "echo", arguments = new { message = "hi" } });
        var executed = await admin.PostJsonAsync(Prefix + "/execute_tool", new { tool = "echo", arguments = new { message = "hi" }, mode = "async" });
        var key = await admin.PostJsonAsync(Prefix + "/api_keys", new { name = "behind a proxy", plan = "free" });
        var webhook = await admin.PostJsonAsync(Prefix + "/webhooks", new { url = "https://hooks.example/jobs", events = new[] { "job.completed" } });
        var atTheRoot = await admin.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "hi" } });

        Assert.Multiple(async () =>
        {
            Assert.That(submitted.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That(submitted.Headers.Location?.ToString(), Does.Match("^/agentcorex/jobs/job_[a-z0-9]+$"));
            Assert.That(executed.Headers.Location?.ToString(), Does.Match("^/agentcorex/jobs/job_[a-z0-9]+$"));
            Assert.That(key.Headers.Location?.ToString(), Does.Match("^/agentcorex/api_keys/key_[a-z0-9]+$"));
            Assert.That(webhook.Headers.Location?.ToString(), Does.Match("^/agentcorex/webhooks/wh_[a-z0-9]+$"));
            var followed = await admin.GetAsync(submitted.Headers.Location);
            Assert.That(followed.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the Location is one the server answers");
            Assert.That(atTheRoot.Headers.Location?.ToString(), Does.Match("^/jobs/job_[a-z0-9]+$"), "a path without the prefix is served at the root, as UsePathBase leaves it");
        });
    }

    [Test]
    public async Task ARequestUnderThePrefixInAnotherCasing_IsLocatedUnderTheSettingsCasing()
    {
        // UsePathBase matches without regard to case and kept the request's casing: Location: /AgentCorex/jobs/...
        using var admin = App.CreateAdminClient();

        var submitted = await admin.PostJsonAsync("/AgentCorex/jobs/submit", new { tool = "echo", arguments = new { message = "hi" } });

        Assert.That(submitted.Headers.Location?.ToString(), Does.Match("^/agentcorex/jobs/job_[a-z0-9]+$"));
    }

    [Test]
    public async Task TheLoginForm_PostsAndReturnsUnderThePrefix_AndItsSessionCookieIsForThePrefixedDashboard()
    {
        using var client = Browserless();

        using var asked = new HttpRequestMessage(HttpMethod.Get, Prefix + "/hangfire/jobs/succeeded?from=20");
        asked.Headers.Accept.ParseAdd("text/html");
        var challenge = await client.SendAsync(asked);
        var form = await challenge.Content.ReadAsStringAsync();
        var login = await client.PostAsync(Prefix + "/hangfire/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["key"] = AgentCorexApp.AdminKey,
            ["return"] = Prefix + "/hangfire/jobs/succeeded?from=20",
        }));
        var setCookie = login.Headers.GetValues("Set-Cookie").Single();
        using var logout = new HttpRequestMessage(HttpMethod.Get, Prefix + "/hangfire/logout");
        logout.Headers.Add("Cookie", setCookie[..setCookie.IndexOf(';', StringComparison.Ordinal)]);
        var loggedOut = await client.SendAsync(logout);

        Assert.Multiple(() =>
        {
            Assert.That(challenge.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(form, Does.Contain("""<form method="post" action="/agentcorex/hangfire/login">"""));
            Assert.That(form, Does.Contain("""name="return" value="/agentcorex/hangfire/jobs/succeeded?from=20"""), "back to the page it asked for");
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
            Assert.That(login.Headers.Location?.ToString(), Is.EqualTo("/agentcorex/hangfire/jobs/succeeded?from=20"));
            Assert.That(setCookie, Does.Contain("path=/agentcorex/hangfire;").IgnoreCase);
            Assert.That(loggedOut.Headers.Location?.ToString(), Is.EqualTo("/agentcorex/hangfire/login"));
        });
    }

    [Test]
    public async Task AReturnPathOutsideThePrefix_GoesToThePrefixedDashboard()
    {
        using var client = Browserless();

        var login = await client.PostAsync(Prefix + "/hangfire/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["key"] = AgentCorexApp.AdminKey,
            ["return"] = "/hangfire/jobs/succeeded",
        }));

        Assert.That(login.Headers.Location?.ToString(), Is.EqualTo("/agentcorex/hangfire"));
    }

    [Test]
    public async Task ALoginUnderTheRequestsOwnCasing_IsWrittenUnderTheSettings()
    {
        // UsePathBase takes /AgentCorex for /agentcorex; a browser does not, for a cookie's path: a session set on
        // /AgentCorex/hangfire was never sent to the dashboard's own links, all written under /agentcorex.
        using var client = Browserless();

        using var asked = new HttpRequestMessage(HttpMethod.Get, "/AgentCorex/hangfire/jobs/succeeded");
        asked.Headers.Accept.ParseAdd("text/html");
        var form = await (await client.SendAsync(asked)).Content.ReadAsStringAsync();
        var login = await client.PostAsync("/AgentCorex/hangfire/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["key"] = AgentCorexApp.AdminKey,
            ["return"] = Prefix + "/hangfire/jobs/succeeded",
        }));
        var loggedOut = await client.GetAsync("/AgentCorex/hangfire/logout");

        Assert.Multiple(() =>
        {
            Assert.That(form, Does.Contain("""<form method="post" action="/agentcorex/hangfire/login">"""));
            Assert.That(form, Does.Contain("""name="return" value="/agentcorex/hangfire/jobs/succeeded"""));
            Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
            Assert.That(login.Headers.GetValues("Set-Cookie").Single(), Does.Contain("path=/agentcorex/hangfire;"));
            Assert.That(login.Headers.Location?.ToString(), Is.EqualTo("/agentcorex/hangfire/jobs/succeeded"));
            Assert.That(loggedOut.Headers.Location?.ToString(), Is.EqualTo("/agentcorex/hangfire/login"));
        });
    }

    [Test]
    public async Task TheOpenApiDocumentsServer_IsThePrefix()
    {
        // "/" is the host's root: generated clients, and the docs page's "try it", called outside the proxy's prefix.
        using var anonymous = App.CreateClient(apiKey: null);

        var document = JsonNode.Parse(await (await anonymous.GetAsync(Prefix + "/openapi/v1.json")).Content.ReadAsStringAsync());

        Assert.That(document?["servers"]?.AsArray().Select(s => s.Str("url")), Is.EqualTo(new[] { "/agentcorex/" }), document?["servers"]?.ToJsonString());
    }

    [Test]
    public async Task TheDashboardsLinksAndAssets_AreUnderThePrefix()
    {
        using var dashboard = App.CreateDashboardClient();

        var page = await (await dashboard.GetAsync(Prefix + "/hangfire")).Content.ReadAsStringAsync();
        var urls = LocalUrls().Matches(page).Select(m => m.Groups["url"].Value).Distinct().ToList();

        Assert.Multiple(() =>
        {
            Assert.That(urls, Has.Some.StartsWith("/agentcorex/hangfire/jobs/"), "the menu's links");
            Assert.That(urls, Has.Some.StartsWith("/agentcorex/hangfire/js"), "its scripts");
            Assert.That(page, Does.Contain("""data-pollurl="/agentcorex/hangfire/stats"""));
            Assert.That(urls.Where(url => !url.StartsWith(Prefix + "/", StringComparison.Ordinal)), Is.Empty, "nothing outside the prefix");
        });
    }

    [GeneratedRegex("""(?:href|src|action)="(?<url>/[^"]*)""")]
    private static partial Regex LocalUrls();
}
