using AgentCorex.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AgentCorex.Tests.Dashboard;

/// <summary>
/// Stored script injection: what a non-admin key writes (its name, given by the admin who made it for a client, its
/// tools' arguments, results and errors) is shown to an operator by the dashboard's pages, and must stay text there.
/// </summary>
[NonParallelizable]
public sealed class DashboardScriptInjectionBrowserTests : BrowserTest
{
    /// <summary>Each part ends a different context: a script block, an element, an attribute value, a script string.</summary>
    private const string Payload =
        """</script><script>window.__xss=1</script><img src=x onerror="window.__xss=2"><svg onload="window.__xss=3"></svg>" onmouseover="window.__xss=4" ';window.__xss=5;//""";

    /// <summary>For a key's name, which takes 100 characters.</summary>
    private const string ShortPayload = """</script><script>window.__xss=6</script><img src=x onerror="window.__xss=7">""";

    [Test]
    public async Task WhatANonAdminKeyWrites_IsShownAsText_AndRunsNoScript_OnTheOperatorsPages()
    {
        using var admin = Server.CreateClient();
        var key = await AgentCorexApp.CreateKeyAsync(admin, plan: "pro", name: "c " + ShortPayload);
        using var client = Server.CreateClient(key.ApiKey);
        var echoed = await client.SubmitAsync("echo", new { message = Payload });
        var failed = await client.SubmitAsync("fail", new { message = Payload });
        var canceled = await client.SubmitAsync("wait", new { duration_ms = 30_000, steps = 3 }, timeoutMs: 60_000);
        await client.WaitForStatusAsync(canceled, "running");
        (await client.DeleteAsync($"/jobs/{canceled}?force=true")).EnsureSuccessStatusCode();
        await client.WaitForStatusAsync(echoed, "completed");
        await client.WaitForStatusAsync(failed, "failed");

        await using var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Server.BaseAddress.ToString(),
            HttpCredentials = new HttpCredentials { Username = "ops", Password = AgentCorexApp.AdminKey },
        });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        // A payload that reached the page as markup would be stopped by the Content-Security-Policy, which says so here.
        var refused = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase))
            {
                refused.Add(message.Text);
            }
        };
        var seen = new Dictionary<string, string>();
        foreach (var (list, name) in new[] { ("succeeded", $"echo {echoed}"), ("failed", $"fail {failed}"), ("canceled", canceled) })
        {
            await page.GotoAsync($"/hangfire/jobs/{list}");
            await ShowsOnlyTextAsync(page, $"the {list} list");
            // The Succeeded and Failed lists are Hangfire's, the Canceled list ours: its rows name the job, linked to Hangfire's.
            await page.Locator($"tr:has-text(\"{name}\") a").First.ClickAsync();
            await page.Locator("#agentcorex-job").WaitForAsync();
            await ScreenshotAsync(page, $"payload-{list}");
            await ShowsOnlyTextAsync(page, $"the {list} job's page");
            seen[list] = await page.Locator("#agentcorex-job").InnerTextAsync();
        }

        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.Empty, "no injected script or handler reached the page for the policy to stop");
            Assert.That(seen.Values, Has.All.Contain("c " + ShortPayload), "the owner key's name is shown, as text");
            Assert.That(new[] { seen["succeeded"], seen["failed"] }, Has.All.Contain("<img src=x onerror=\\\"window.__xss=2\\\">"), "the arguments and result are shown, as text (in JSON)");
            Assert.That(seen["failed"], Does.Contain("EXECUTION_ERROR " + Payload), "the error's message, as text");
        });
    }

    private static async Task ShowsOnlyTextAsync(IPage page, string where)
    {
        var ran = await page.EvaluateAsync<string?>("() => window.__xss === undefined ? null : String(window.__xss)");
        var injected = await page.Locator("img[src='x'], svg[onload], [onmouseover], script:not([src])").CountAsync();
        Assert.Multiple(() =>
        {
            Assert.That(ran, Is.Null, $"no payload ran on {where}");
            Assert.That(injected, Is.Zero, $"no element of the payload is on {where}");
        });
    }
}
