using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// The quiet levels of appsettings.json hold without it: a server started from another folder than its own reads no
/// appsettings.json (it is read from the working directory), and logged every request and every SQL statement.
/// </summary>
[NonParallelizable]
public sealed class LogLevelDefaultsTests
{
    private static readonly string[] PerRequestAndStatement =
    [
        "Microsoft.EntityFrameworkCore.Database.Command",
        "Microsoft.AspNetCore.Routing.EndpointMiddleware",
        "Microsoft.AspNetCore.Mvc.Infrastructure.ControllerActionInvoker",
    ];

    [Test]
    public async Task WithoutAppsettings_InformationLogsNeitherEachRequestNorEachStatement()
    {
        var output = await OutputOfAJobAsync(new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Information" });

        Assert.Multiple(() =>
        {
            Assert.That(output, Does.Contain("Microsoft.Hosting.Lifetime"), "Information lines are logged");
            foreach (var category in PerRequestAndStatement)
            {
                Assert.That(output, Does.Not.Contain(category));
            }
        });
    }

    [Test]
    public async Task TheDefaults_GiveWayToConfiguration()
    {
        var output = await OutputOfAJobAsync(new Dictionary<string, string>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.EntityFrameworkCore"] = "Information",
        });

        Assert.That(output, Does.Contain("Microsoft.EntityFrameworkCore.Database.Command"));
    }

    private static async Task<string> OutputOfAJobAsync(Dictionary<string, string> settings)
    {
        using var data = TempFolder.Create("agentcorex-loglevels-");
        Assert.That(File.Exists(data.File("appsettings.json")), Is.False, "the working directory has no appsettings.json");
        await using var server = await ServerProcess.StartAsync(data.Path, settings);
        using var admin = server.CreateClient();
        var job = await admin.SubmitAsync("echo", new { message = "quiet" });
        await admin.WaitForFinalAsync(job);
        await server.StopAsync();
        return server.Output;
    }
}
