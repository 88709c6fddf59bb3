using System.Globalization;
using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Storage;

/// <summary>
/// The embedded database's disk fills up: a submit it cannot store is a 503 the client may send again, not a 500, and
/// the jobs it did take keep their outcomes until there is room to store them. The full disk is SQLite's own
/// (SQLITE_FULL), made by capping the writer connection's <c>max_page_count</c> at the file's size: a tmpfs of a fixed
/// size would need root.
/// </summary>
public sealed class FullDiskTests : ServerTest
{
    [Test]
    public async Task Submit_WhenTheDiskIsFull_IsDatabaseUnavailable_AndTheJobsTakenCompleteOnceThereIsRoom()
    {
        var writer = App.Services.GetRequiredService<SqliteWriter>();
        var pages = await writer.QueryFirstAsync("PRAGMA page_count", r => r.GetInt64(0), [], CancellationToken.None);
        await CapPagesAsync(writer, pages);
        var message = new string('x', 10_000);

        var accepted = new List<string>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 500 && refused is null; i++)
        {
            var response = await Admin.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message } });
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add((await response.ReadObjectAsync()).Str("job_id")!);
            }
            else
            {
                refused = response;
            }
        }

        Assert.That(refused, Is.Not.Null, "the disk filled up");
        var error = await refused!.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), error.ToJsonString());
            Assert.That(error.Str("error.code"), Is.EqualTo("DATABASE_UNAVAILABLE"));
            Assert.That(refused.Headers.RetryAfter?.Delta, Is.EqualTo(TimeSpan.FromSeconds(5)));
        });

        var whileFull = await Admin.GetAsync("/health/ready");
        Assert.That(whileFull.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "unready while writes are refused: a load balancer sends them elsewhere");

        await CapPagesAsync(writer, int.MaxValue);
        foreach (var jobId in accepted)
        {
            var job = await Admin.WaitForFinalAsync(jobId, TimeSpan.FromSeconds(15));
            Assert.That(job.Str("status"), Is.EqualTo("completed"), job.ToJsonString());
        }
        await Admin.SubmitAsync("echo", new { message = "room again" });
        HttpStatusCode ready;
        var until = DateTime.UtcNow + SqliteWriter.RefusalWindow + TimeSpan.FromSeconds(5);
        while ((ready = (await Admin.GetAsync("/health/ready")).StatusCode) != HttpStatusCode.OK && DateTime.UtcNow < until)
        {
            await Task.Delay(250);
        }
        Assert.That(ready, Is.EqualTo(HttpStatusCode.OK), "ready again once no write was refused for a while");
    }

    private static Task<int> CapPagesAsync(SqliteWriter writer, long pages) =>
        writer.ExecuteAsync("PRAGMA max_page_count = " + pages.ToString(CultureInfo.InvariantCulture), [], CancellationToken.None);
}
