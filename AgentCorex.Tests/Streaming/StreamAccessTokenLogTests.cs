using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Streaming;

/// <summary>
/// A stream's <c>?access_token=</c> stays out of the log however logging is configured: ASP.NET Core's request lines
/// print the query string, and a provider's own levels (Logging:Console:LogLevel) outrank the category-wide ones.
/// </summary>
[NonParallelizable]
public sealed class StreamAccessTokenLogTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-tokenlog-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [TestCase("Logging:Console:LogLevel:Default", true)]
    [TestCase("Logging:Console:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", false)]
    public async Task AStreamsAccessToken_IsNotLogged_WhenTheConsolesOwnLevelsAskForRequestLines(string setting, bool everyInformationLine)
    {
        string output, apiKey, jobId;
        await using (var server = await ServerProcess.StartAsync(data, new Dictionary<string, string> { [setting] = "Information" }))
        {
            using var admin = server.CreateClient();
            apiKey = (await (await admin.PostAsJsonAsync("/api_keys", new { name = "streamed", plan = "pro" })).ReadObjectAsync()).Str("api_key")!;
            using var user = server.CreateClient(apiKey);
            jobId = await user.SubmitAsync("echo", new { message = "streamed" });
            await user.WaitForFinalAsync(jobId);
            using var browser = new HttpClient { BaseAddress = server.BaseAddress };
            await browser.GetStringAsync($"/jobs/{jobId}/stream?access_token={Uri.EscapeDataString(apiKey)}");
            await server.StopAsync();
            output = server.Output;
        }

        Assert.Multiple(() =>
        {
            if (everyInformationLine)
            {
                Assert.That(output, Does.Contain("info: Microsoft.Hosting.Lifetime"), "the console's Information lines are on");
            }
            Assert.That(output, Does.Not.Contain(apiKey.Split('_')[2]), "the key's secret");
            Assert.That(output, Does.Not.Contain("access_token"));
        });
    }
}
