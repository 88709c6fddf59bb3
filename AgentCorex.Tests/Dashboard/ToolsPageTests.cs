using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Tests.Dashboard;

/// <summary>The dashboard's Tools page. Each test seeds or runs jobs of a tool no other test here uses.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ToolsPageTests(TestStorage storage) : DashboardTest(storage)
{
    [Test]
    public async Task ToolsPage_IsInTheNavigationMenu_AndListsEveryTool()
    {
        var home = await Dashboard.GetPageAsync("/");
        var tools = await Dashboard.GetPageAsync("/tools");

        Assert.That(home, Does.Contain("href=\"/hangfire/tools\""));
        foreach (var tool in new[] { "echo", "wait", "fail", "test_nested" })
        {
            Assert.That(DashboardPages.ToolCell(tools, tool, "jobs-today"), Is.Not.Null, tool);
        }
    }

    [Test]
    public async Task ToolsPage_ShowsTodaysJobsSuccessRateAndP95_AndWhatRunsAndWaitsNow()
    {
        var tool = "seeded_" + Guid.NewGuid().ToString("N")[..8];
        var key = await App.CreateKeyAsync();
        var yesterday = DateTime.UtcNow.AddDays(-1);
        // Today: 20 completed runs of 10, 20, ..., 200 ms, 3 failed, a timeout and a cancel (25 finished), 2 running and
        // 3 queued. Yesterday: a completed run far slower and a job still queued, which only "queued now" counts.
        List<JobEntry> jobs = [.. Enumerable.Range(1, 20).Select(k => Ledger.Job(key.KeyId, tool, JobStatus.Completed, (7 * k % 20 + 1) * 10))];
        jobs.AddRange(Enumerable.Range(0, 3).Select(_ => Ledger.Job(key.KeyId, tool, JobStatus.Failed, 5)));
        jobs.Add(Ledger.Job(key.KeyId, tool, JobStatus.Timeout, 30_000));
        jobs.Add(Ledger.Job(key.KeyId, tool, JobStatus.Canceled));
        jobs.AddRange(Enumerable.Range(0, 2).Select(_ => Ledger.Job(key.KeyId, tool, JobStatus.Running)));
        jobs.AddRange(Enumerable.Range(0, 3).Select(_ => Ledger.Job(key.KeyId, tool, JobStatus.Queued)));
        jobs.Add(Ledger.Job(key.KeyId, tool, JobStatus.Completed, 99_000, at: yesterday));
        jobs.Add(Ledger.Job(key.KeyId, tool, JobStatus.Queued, at: yesterday));
        await App.AddJobsAsync(jobs);

        var page = await Dashboard.GetPageAsync("/tools");

        Assert.Multiple(() =>
        {
            Assert.That(DashboardPages.ToolCell(page, tool, "jobs-today"), Is.EqualTo("30"));
            Assert.That(DashboardPages.ToolCell(page, tool, "success-rate"), Is.EqualTo("80 %"), "20 completed of 25 finished today");
            Assert.That(DashboardPages.ToolCell(page, tool, "p95"), Is.EqualTo("190 ms"), "rank ceil(0.95 * 20) = 19 of today's completed runs");
            Assert.That(DashboardPages.ToolCell(page, tool, "running-now"), Is.EqualTo("2"));
            Assert.That(DashboardPages.ToolCell(page, tool, "queued-now"), Is.EqualTo("4"));
        });
    }

    [Test]
    public async Task ToolsPage_CountsARealRun()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var before = int.Parse(DashboardPages.ToolCell(await Dashboard.GetPageAsync("/tools"), "test_record", "jobs-today")!, System.Globalization.CultureInfo.InvariantCulture);

        await client.WaitForStatusAsync(await client.SubmitAsync("test_record", new { label = "counted" }), "completed");
        var page = await Dashboard.GetPageAsync("/tools");

        Assert.That(DashboardPages.ToolCell(page, "test_record", "jobs-today"), Is.EqualTo((before + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.That(DashboardPages.ToolCell(page, "test_record", "success-rate"), Is.EqualTo("100 %"));
        Assert.That(DashboardPages.ToolCell(page, "test_record", "p95"), Does.Match("^[0-9]+ ms$"));
    }

    [Test]
    public async Task ToolsPage_EncodesWhatTheLedgerHolds()
    {
        var tool = "<img src=x onerror=alert(1)>" + Guid.NewGuid().ToString("N")[..6];
        var key = await App.CreateKeyAsync();
        await App.AddJobsAsync([Ledger.Job(key.KeyId, tool, JobStatus.Completed, 10)]);

        var page = await Dashboard.GetPageAsync("/tools");

        Assert.That(page, Does.Not.Contain("<img src=x"));
        Assert.That(DashboardPages.ToolCell(page, System.Text.Encodings.Web.HtmlEncoder.Default.Encode(tool), "jobs-today"), Is.EqualTo("1"));
    }
}
