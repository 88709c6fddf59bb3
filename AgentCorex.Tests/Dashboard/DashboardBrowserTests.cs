using AgentCorex.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AgentCorex.Tests.Dashboard;

/// <summary>The dashboard and /docs in a real browser; screenshots are attached to the test.</summary>
[NonParallelizable]
public sealed class DashboardBrowserTests : BrowserTest
{
    [Test]
    public async Task Operator_LogsIn_WatchesAWaitJobsProgressBarMove_AndSeesTheToolsPage()
    {
        using var api = Server.CreateClient();
        var jobId = await api.SubmitAsync("wait", new { duration_ms = 10_000, steps = 10 }, timeoutMs: 60_000);
        await api.WaitForStatusAsync(jobId, "running");
        await using var context = await AdminContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);

        await page.GotoAsync("/hangfire/jobs/processing");
        await page.GetByText($"wait {jobId}").ClickAsync();
        var bar = page.Locator("#agentcorex-job [role=progressbar]");
        var seen = new List<int>();
        var deadline = DateTime.UtcNow + Deadline;
        while (seen.Distinct().Count() < 3 && DateTime.UtcNow < deadline)
        {
            await bar.WaitForAsync();
            seen.Add(int.Parse((await bar.GetAttributeAsync("aria-valuenow"))!, System.Globalization.CultureInfo.InvariantCulture));
            if (seen.Count == 1 || seen[^1] != seen[^2])
            {
                await ScreenshotAsync(page, $"job-progress-{seen[^1]}");
            }
            await Task.Delay(300);
            await page.ReloadAsync();
        }

        Assert.That(seen.Distinct().Count(), Is.GreaterThanOrEqualTo(3), $"the bar moved: {string.Join(", ", seen)}");
        Assert.That(seen, Is.Ordered, "it only moves forward");
        Assert.That(await page.Locator("#agentcorex-job").InnerTextAsync(), Does.Contain("current step step-").And.Contain("total steps 10"));

        await page.GetByRole(AriaRole.Link, new() { Name = "Tools", Exact = true }).ClickAsync();
        var wait = page.Locator("tr[data-tool=wait]");
        await wait.WaitForAsync();
        await ScreenshotAsync(page, "tools");

        Assert.That(page.Url, Does.EndWith("/hangfire/tools"));
        Assert.That(await page.Locator("tr[data-tool]").CountAsync(), Is.GreaterThanOrEqualTo(3), "echo, wait, fail and the test tools");
        Assert.That(await wait.Locator("[data-column=jobs-today]").InnerTextAsync(), Is.EqualTo("1"));
        Assert.That(await wait.Locator("[data-column=running-now]").InnerTextAsync(), Is.EqualTo("1"));
        await api.DeleteAsync($"/jobs/{jobId}?force=true");
    }

    /// <summary>
    /// The form's own page: a real browser shows the same form as the body of the dashboard's 401 once its own basic-auth
    /// prompt is dismissed, which headless Chromium does not do (it fails the navigation); DashboardLoginTests checks that 401.
    /// </summary>
    [Test]
    public async Task Operator_LogsIn_ThroughTheForm_ReturnsToThePageAsked_AndLogsOut()
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);

        await page.GotoAsync("/hangfire/login?return=/hangfire/jobs/succeeded");
        await ScreenshotAsync(page, "login-form");
        await page.GetByLabel("Admin API key").FillAsync(AgentCorexApp.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await page.WaitForURLAsync("**/hangfire/jobs/succeeded");
        var logOut = page.GetByRole(AriaRole.Link, new() { Name = "Log out" });
        await logOut.WaitForAsync();
        await ScreenshotAsync(page, "logged-in");
        var brand = await page.Locator(".navbar-brand").InnerTextAsync();
        var session = (await context.CookiesAsync()).Single(c => c.Name == "agentcorex_dashboard");
        await logOut.ClickAsync();
        await page.WaitForURLAsync("**/hangfire/login");
        await page.GetByLabel("Admin API key").WaitForAsync();
        var left = (await context.CookiesAsync()).Select(c => c.Name);

        Assert.Multiple(() =>
        {
            Assert.That(brand, Does.Contain("AgentCorex jobs"));
            Assert.That(session.HttpOnly, Is.True);
            Assert.That(session.SameSite, Is.EqualTo(SameSiteAttribute.Strict));
            Assert.That(session.Path, Is.EqualTo("/hangfire"));
            Assert.That(left, Does.Not.Contain("agentcorex_dashboard"), "logged out");
        });
    }

    /// <summary>Headless Chromium fails a navigation answered with a Basic challenge, where a browser with a window prompts.</summary>
    [Test]
    public async Task AWrongKey_ShowsTheFormsError_NotTheBrowsersPrompt()
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);

        await page.GotoAsync("/hangfire/login");
        await page.GetByLabel("Admin API key").FillAsync("acx_not_a_key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        var problem = page.GetByRole(AriaRole.Alert);
        await problem.WaitForAsync();
        await ScreenshotAsync(page, "login-refused");

        Assert.That(await problem.InnerTextAsync(), Is.EqualTo("That is not an admin key of this server."));
        Assert.That(await page.GetByLabel("Admin API key").IsVisibleAsync(), Is.True, "the form, to try again");
    }

    /// <summary>The pages' Content-Security-Policy (PageHeaders, DashboardExtensions) leaves everything of Hangfire's and ours working.</summary>
    [Test]
    public async Task ThePagesContentSecurityPolicy_BlocksNothingTheDashboardUses()
    {
        using var api = Server.CreateClient();
        var jobId = await api.SubmitAsync("echo", new { message = "hi" });
        await api.WaitForStatusAsync(jobId, "completed");
        await using var context = await AdminContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add(message.Text);
            }
        };
        page.PageError += (_, error) => problems.Add(error);

        // Hangfire's script polls its stats as soon as it runs: the poll's answer shows that it ran and was let connect.
        var polled = page.WaitForResponseAsync(response => response.Url.EndsWith("/hangfire/stats", StringComparison.Ordinal) && response.Status == 200);
        await page.GotoAsync("/hangfire");
        await polled;
        await page.GotoAsync("/hangfire/jobs/succeeded");
        await page.GetByText($"echo {jobId}").ClickAsync();
        await page.Locator("#agentcorex-job").WaitForAsync();
        await page.GotoAsync("/hangfire/tools");
        await page.Locator("tr[data-tool=echo]").WaitForAsync();
        await ScreenshotAsync(page, "tools-under-csp");
        await using var anonymous = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var form = await anonymous.NewPageAsync();
        form.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add(message.Text);
            }
        };
        await form.GotoAsync("/hangfire/login");
        await form.GetByLabel("Admin API key").WaitForAsync();

        Assert.That(problems, Is.Empty, "no script, style, font or connection refused, no script error");
    }

    [Test]
    public async Task ApiReference_RendersAtDocs_FromThePackage()
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        var outside = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(Server.BaseAddress.ToString(), StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                outside.Add(request.Url);
            }
        };

        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add(message.Text);
            }
        };
        page.PageError += (_, error) => problems.Add(error);

        var response = await page.GotoAsync("/docs");
        await page.GetByText("/jobs/submit").First.WaitForAsync();
        await ScreenshotAsync(page, "docs", fullPage: false); // the reference renders lazily: its first screen

        Assert.That(response?.Status, Is.EqualTo(200));
        Assert.That(await page.TitleAsync(), Does.Contain("AgentCorex API"));
        Assert.That(outside, Is.Empty, "everything is served by the server itself, no CDN");
        Assert.That(problems, Is.Empty, "its headers (PageHeaders) refuse nothing the page does");
    }

    /// <summary>Another site's page that frames /docs gets the browser's refusal, not the page under a decoy.</summary>
    [Test]
    public async Task ApiReference_RefusesToBeFramed()
    {
        await using var context = await Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        var refused = page.WaitForConsoleMessageAsync(new PageWaitForConsoleMessageOptions
        {
            Predicate = message => message.Text.Contains("frame-ancestors", StringComparison.Ordinal),
        });

        await page.SetContentAsync($"<iframe src=\"{new Uri(Server.BaseAddress, "/docs")}\"></iframe>");

        Assert.That((await refused).Text, Does.Contain("frame-ancestors 'none'").And.Contain("blocked"));
    }

    /// <summary>A browser that gives the admin key as Basic auth's password, as an operator's does.</summary>
    private Task<IBrowserContext> AdminContextAsync() => Browser.NewContextAsync(new BrowserNewContextOptions
    {
        BaseURL = Server.BaseAddress.ToString(),
        HttpCredentials = new HttpCredentials { Username = "ops", Password = AgentCorexApp.AdminKey },
    });
}
