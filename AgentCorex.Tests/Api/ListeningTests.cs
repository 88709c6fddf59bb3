using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>Where a real process listens when started beside the shipped settings file, as the README's command starts it.</summary>
[NonParallelizable]
public sealed class ListeningTests
{
    private string data = null!;

    [SetUp]
    public void MakeDataFolderWithTheShippedSettings()
    {
        data = Directory.CreateTempSubdirectory("agentcorex-listen-").FullName;
        File.Copy(Path.Combine(RepositoryFiles.Root(), "appsettings.json"), Path.Combine(data, "appsettings.json"));
    }

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task AspNetCoreUrls_InTheEnvironment_IsWhereItListens()
    {
        // Started without --urls: only the environment says where. The shipped settings must not override it.
        await using var server = await ServerProcess.StartAsync(
            data, environment: new Dictionary<string, string> { ["ASPNETCORE_URLS"] = "http://127.0.0.1:{port}" });
        using var client = server.CreateClient();

        var response = await client.GetAsync("/health/live");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Answers_DoNotNameTheServerSoftware()
    {
        await using var server = await ServerProcess.StartAsync(data);
        using var client = server.CreateClient();

        var answers = new[] { await client.GetAsync("/health/live"), await client.GetAsync("/jobs"), await client.GetAsync("/nowhere") };

        Assert.That(answers.Select(a => a.Headers.Server.ToString()), Is.All.Empty);
    }

    [Test]
    public void TheServersBuildFolder_CarriesTheShippedSettings()
    {
        // A server started from its build or publish folder reads the settings there, as dotnet run reads the root's.
        var beside = Path.Combine(Path.GetDirectoryName(typeof(Program).Assembly.Location)!, "appsettings.json");

        Assert.That(File.Exists(beside), Is.True, beside);
        Assert.That(File.ReadAllText(beside), Is.EqualTo(File.ReadAllText(Path.Combine(RepositoryFiles.Root(), "appsettings.json"))));
    }
}
