using AgentCorex.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AgentCorex.Tests.Dashboard;

/// <summary>
/// The dashboard and /docs under Server:PathBase, as a browser behind a proxy's /agentcorex/ uses them: every link,
/// form, redirect, poll and cookie it is given must stay under the prefix, or the proxy never passes it on.
/// </summary>
[NonParallelizable]
public sealed class PathBaseBrowserTests : BrowserTest
{
    protected override IDictionary<string, string> Settings => new Dictionary<string, string> { ["Server:PathBase"] = "/agentcorex" };

    [Test]
    public async Task Operator_LogsIn_PollsAndLogsOut_AllUnderThePrefix_AndTheDocsPageReadsItsDocumentThere()
    {
        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = Server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        var outside = new List<string>();
        page.Request += (_, request) =>
        {
            if (!new Uri(request.Url).AbsolutePath.StartsWith("/agentcorex/", StringComparison.Ordinal))
            {
                outside.Add(request.Url);
            }
        };

        await page.GotoAsync("/agentcorex/hangfire/login?return=/agentcorex/hangfire/jobs/succeeded");
        await page.GetByLabel("Admin API key").FillAsync(AgentCorexApp.AdminKey);
        var polled = page.WaitForResponseAsync(response => response.Url.EndsWith("/agentcorex/hangfire/stats", StringComparison.Ordinal) && response.Status == 200);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await page.WaitForURLAsync("**/agentcorex/hangfire/jobs/succeeded");
        await polled;
        await ScreenshotAsync(page, "logged-in-under-prefix");
        var session = (await context.CookiesAsync()).Single(c => c.Name == "agentcorex_dashboard");
        await page.GetByRole(AriaRole.Link, new() { Name = "Log out" }).ClickAsync();
        await page.WaitForURLAsync("**/agentcorex/hangfire/login");
        var document = page.WaitForResponseAsync(response => response.Url.EndsWith("/agentcorex/openapi/v1.json", StringComparison.Ordinal) && response.Status == 200);
        await page.GotoAsync("/agentcorex/docs/");
        await document;

        Assert.Multiple(() =>
        {
            Assert.That(session.Path, Is.EqualTo("/agentcorex/hangfire"));
            Assert.That(outside, Is.Empty, "nothing asked outside the prefix");
        });
    }
}
