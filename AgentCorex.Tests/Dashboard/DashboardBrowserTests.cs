using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;
using Microsoft.Playwright;

namespace AgentCorex.Tests.Dashboard;

/// <summary>
/// The dashboard and /docs in a real browser: Debian's Chromium (never a browser Playwright downloads) driven by
/// Playwright, against the server as a real process, since a browser cannot reach WebApplicationFactory's
/// in-memory server. Screenshots are attached to the test. Where /usr/bin/chromium is absent the test is skipped.
/// </summary>
[NonParallelizable]
public sealed class DashboardBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private string dataDirectory = null!;
    private ServerProcess server = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;

    [OneTimeSetUp]
    public async Task StartServerAndBrowser()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Ignore($"{Chromium} is absent: install Debian's chromium package to run the browser tests");
        }
        dataDirectory = Directory.CreateTempSubdirectory("agentcorex-browser-").FullName;
        server = await ServerProcess.StartAsync(dataDirectory);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Chromium's sandbox refuses to start as root (CI runs as root); small containers have a small /dev/shm.
            Args = Environment.UserName == "root" ? ["--no-sandbox", "--disable-dev-shm-usage"] : ["--disable-dev-shm-usage"],
        });
    }

    [OneTimeTearDown]
    public async Task StopServerAndBrowser()
    {
        if (browser is not null)
        {
            await browser.DisposeAsync();
        }
        playwright?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
        if (dataDirectory is not null)
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Test]
    public async Task Operator_LogsIn_WatchesAWaitJobsProgressBarMove_AndSeesTheToolsPage()
    {
        using var api = server.CreateClient();
        var jobId = await api.SubmitAsync("wait", new { duration_ms = 10_000, steps = 10 }, timeoutMs: 60_000);
        await api.WaitForStatusAsync(jobId, "running");
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString(),
            HttpCredentials = new HttpCredentials { Username = "ops", Password = AgentCorexApp.AdminKey },
        });
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

    [Test]
    public async Task ApiReference_RendersAtDocs_FromThePackage()
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = server.BaseAddress.ToString() });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        var outside = new List<string>();
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith(server.BaseAddress.ToString(), StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                outside.Add(request.Url);
            }
        };

        var response = await page.GotoAsync("/docs");
        await page.GetByText("/jobs/submit").First.WaitForAsync();
        await ScreenshotAsync(page, "docs", fullPage: false); // the reference renders lazily: its first screen

        Assert.That(response?.Status, Is.EqualTo(200));
        Assert.That(await page.TitleAsync(), Does.Contain("AgentCorex API"));
        Assert.That(outside, Is.Empty, "everything is served by the server itself, no CDN");
    }

    private static async Task ScreenshotAsync(IPage page, string name, bool fullPage = true)
    {
        var folder = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots", TestContext.CurrentContext.Test.Name);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Regex.Replace(name, "[^a-z0-9-]", "-") + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        TestContext.AddTestAttachment(path, name);
    }
}
