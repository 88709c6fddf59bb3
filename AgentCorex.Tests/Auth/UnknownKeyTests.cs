using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Auth;

/// <summary>
/// A made-up key costs what a real one costs: its id is read from the database once per Auth:KeyCacheTtl. Read every
/// time, it made a 401 for an unknown id slower than one for a known id with a wrong secret (an oracle of which ids
/// exist) and turned a flood of made-up keys into a flood of queries.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class UnknownKeyTests(TestStorage storage)
{
    [Test]
    public async Task AnUnknownKeyId_IsReadFromTheDatabaseOncePerTtl_AsAKnownOneIs()
    {
        var settings = storage == TestStorage.PostgreSql ? await ServerTest.PostgreSqlSettingsAsync() : [];
        settings["Auth:KeyCacheTtl"] = "00:05:00"; // no expiry during the test, however slow the machine
        var logs = new CapturedLogs();
        using var app = new AgentCorexApp(settings);
        using var logged = app.WithWebHostBuilder(host => host
            .UseSetting("Logging:LogLevel:Microsoft.EntityFrameworkCore.Database.Command", "Information")
            .ConfigureLogging(logging => logging.AddProvider(logs)));
        using var client = logged.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", "acx_unknownid123_" + new string('s', 40));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await client.GetAsync("/tools")).StatusCode);
        }

        Assert.That(statuses, Is.All.EqualTo(HttpStatusCode.Unauthorized));
        var keyReads = logs.Lines.Where(line => line.Contains("Executed DbCommand", StringComparison.Ordinal)
            && (line.Contains("FROM api_keys", StringComparison.Ordinal) || line.Contains("FROM \"api_keys\"", StringComparison.Ordinal)));
        Assert.That(keyReads.Count(), Is.EqualTo(1));
    }
}
