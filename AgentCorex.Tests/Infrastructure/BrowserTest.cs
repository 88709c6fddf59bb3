using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A fixture with a real browser: Debian's Chromium (never a browser Playwright downloads) driven by Playwright,
/// against the server as a real process, since a browser cannot reach WebApplicationFactory's in-memory server.
/// Where /usr/bin/chromium is absent the fixture's tests are skipped.
/// </summary>
[NonParallelizable]
public abstract class BrowserTest
{
    private const string Chromium = "/usr/bin/chromium";

    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private string dataDirectory = null!;
    private IPlaywright playwright = null!;

    protected ServerProcess Server { get; private set; } = null!;

    protected IBrowser Browser { get; private set; } = null!;

    /// <summary>Configuration the fixture's server runs with, beside the test defaults.</summary>
    protected virtual IDictionary<string, string>? Settings => null;

    [OneTimeSetUp]
    public async Task StartServerAndBrowser()
    {
        if (!File.Exists(Chromium))
        {
            Assert.Ignore($"{Chromium} is absent: install Debian's chromium package to run the browser tests");
        }
        dataDirectory = Directory.CreateTempSubdirectory("agentcorex-browser-").FullName;
        Server = await ServerProcess.StartAsync(dataDirectory, Settings);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
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
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        playwright?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
        if (dataDirectory is not null)
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>Saves a screenshot and attaches it to the test.</summary>
    protected static async Task ScreenshotAsync(IPage page, string name, bool fullPage = true)
    {
        var folder = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots", TestContext.CurrentContext.Test.Name);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Regex.Replace(name, "[^a-z0-9-]", "-") + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        TestContext.AddTestAttachment(path, name);
    }
}
