using System.Net;
using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>The server answers the same words on a machine set up in another language.</summary>
[NonParallelizable]
public sealed class LocaleTests
{
    [Test]
    public async Task OnAGermanMachine_ValidationMessagesAreStillEnglish()
    {
        using var folder = TempFolder.Create("agentcorex-locale-");
        var data = folder.Path;
        await using var server = await ServerProcess.StartAsync(data, environment: new Dictionary<string, string>
        {
            ["LC_ALL"] = "de_DE.UTF-8",
            ["LANG"] = "de_DE.UTF-8",
        });
        using var client = server.CreateClient();

        using var response = await client.PostAsJsonAsync("/execute_tool", new { tool = "wait", arguments = new { duration_ms = -1 } });
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(body, Does.Contain("'duration_ms' must be between 0 and 86400000. You entered -1."));
        });
    }
}
