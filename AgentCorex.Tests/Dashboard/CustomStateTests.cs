using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;

namespace AgentCorex.Tests.Dashboard;

/// <summary>AgentCorex's own Hangfire states, Timeout and Canceled: their lists in the Jobs sidebar, counts, colours and history.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class CustomStateTests(TestStorage storage) : DashboardTest(storage)
{
    [Test]
    public async Task TimedOutJob_IsListedAndCounted_AndItsPageHasTheTimeoutColoursAndData()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro", name: "timeout owner")).ApiKey);
        var countBefore = DashboardPages.Metric(await Dashboard.GetPageAsync("/jobs/timeout"), "agentcorex:timeout:count");

        var jobId = await client.SubmitAsync("wait", new { duration_ms = 5_000 }, timeoutMs: 100);
        await client.WaitForStatusAsync(jobId, "timeout");
        var hangfireId = await App.HangfireIdAsync(jobId);
        var jobPage = await Dashboard.WaitForPageAsync($"/jobs/details/{hangfireId}", html => html.Contains("state-card-state-timeout", StringComparison.Ordinal), "the Timeout state");
        var list = await Dashboard.GetPageAsync("/jobs/timeout");
        var row = DashboardPages.ListedRow(list, jobId);

        Assert.Multiple(() =>
        {
            Assert.That(list, Does.Contain("href=\"/hangfire/jobs/timeout\""), "in the Jobs sidebar");
            Assert.That(DashboardPages.Metric(list, "agentcorex:timeout:count"), Is.EqualTo(countBefore + 1));
            Assert.That(row, Is.Not.Null, "listed");
            Assert.That(row, Does.Contain($"href=\"/hangfire/jobs/details/{hangfireId}\""), "linked to its Hangfire job");
            Assert.That(row, Does.Contain("wait").And.Contain("timeout owner").And.Contain("Tool execution exceeded 100ms timeout"));
            Assert.That(jobPage, Does.Contain("(100 ms)"), "the Timeout state's data, rendered");
        });
        Assert.That(await StylesheetOfAsync(jobPage), Does.Contain(".state-card-state-timeout {").And.Contain(".label-state-timeout {"));
    }

    [Test]
    public async Task CanceledJobs_AreListedAndCounted_AndARunningOnesPageHasTheCanceledColours()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var countBefore = DashboardPages.Metric(await Dashboard.GetPageAsync("/jobs/canceled"), "agentcorex:canceled:count");
        var running = await client.SubmitAsync("wait", new { duration_ms = 60_000, steps = 60 });
        await client.WaitForStatusAsync(running, "running");
        var hangfireId = await App.HangfireIdAsync(running);
        // One canceled before it started: it never had a Hangfire job of its own.
        var neverStarted = Ledger.Job("key_none", "wait", JobStatus.Canceled);
        await App.AddJobsAsync([neverStarted]);

        await client.DeleteAsync($"/jobs/{running}?force=true");
        var jobPage = await Dashboard.WaitForPageAsync($"/jobs/details/{hangfireId}", html => html.Contains("state-card-state-canceled", StringComparison.Ordinal), "the Canceled state");
        var list = await Dashboard.GetPageAsync("/jobs/canceled");

        Assert.Multiple(() =>
        {
            Assert.That(DashboardPages.Metric(list, "agentcorex:canceled:count"), Is.EqualTo(countBefore + 2));
            Assert.That(DashboardPages.ListedRow(list, running), Does.Contain($"href=\"/hangfire/jobs/details/{hangfireId}\""));
            Assert.That(DashboardPages.ListedRow(list, running), Does.Contain("Canceled by its owner while running"));
            Assert.That(DashboardPages.ListedRow(list, neverStarted.Id), Does.Contain("never started"));
            Assert.That(DashboardPages.ListedRow(list, neverStarted.Id), Does.Contain("Canceled before it started"), "a cancel stored without who made it");
            Assert.That(jobPage, Does.Match("""Canceled at:</dt><dd><span data-moment="\d+">\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ</span>"""),
                "the Canceled state's data, rendered: ISO 8601 in UTC until Hangfire's script shows it locally");
        });
        Assert.That(await StylesheetOfAsync(jobPage), Does.Contain(".state-card-state-canceled {"));
    }

    [Test]
    public async Task JobsARestartCutOff_AreListedAsInterrupted_FromTheLedger()
    {
        // Failed SERVER_RESTARTED at a restart, which the embedded executor's own Failed list forgets at that very restart.
        var key = await App.CreateKeyAsync(name: "crashed owner");
        var countBefore = DashboardPages.Metric(await Dashboard.GetPageAsync("/jobs/interrupted"), "agentcorex:server_restarted:count");
        var interrupted = Ledger.Job(key.KeyId, "wait", JobStatus.Failed, errorMessage: "The server restarted while the job ran; its tool is not safe to run twice");
        interrupted.ErrorCode = JobErrors.ServerRestarted;
        var failedOtherwise = Ledger.Job(key.KeyId, "fail", JobStatus.Failed, errorMessage: "boom");
        failedOtherwise.ErrorCode = "TOOL_FAILED";
        await App.AddJobsAsync([interrupted, failedOtherwise]);

        var list = await Dashboard.GetPageAsync("/jobs/interrupted");

        Assert.Multiple(() =>
        {
            Assert.That(list, Does.Contain("href=\"/hangfire/jobs/interrupted\""), "in the Jobs sidebar");
            Assert.That(DashboardPages.Metric(list, "agentcorex:server_restarted:count"), Is.EqualTo(countBefore + 1));
            Assert.That(DashboardPages.ListedRow(list, interrupted.Id), Does.Contain("crashed owner").And.Contain("not safe to run twice"));
            Assert.That(DashboardPages.ListedRow(list, failedOtherwise.Id), Is.Null, "a failure of the tool's own is not an interruption");
        });
    }

    /// <summary>Not the server culture's <c>11/30/2026 16:55:42</c> with no zone, which Hangfire's own helper writes.</summary>
    [Test]
    public async Task Lists_ShowWhenAJobEnded_InUtc_AsAMomentHangfiresScriptShowsLocally()
    {
        var key = await App.CreateKeyAsync();
        // In the future, so that it is the newest whatever other tests here left.
        var ended = DateTime.UtcNow.Date.AddDays(3).AddHours(16).AddMinutes(55).AddSeconds(42);
        var job = Ledger.Job(key.KeyId, "wait", JobStatus.Timeout, 10, at: ended);
        await App.AddJobsAsync([job]);

        var row = DashboardPages.ListedRow(await Dashboard.GetPageAsync("/jobs/timeout"), job.Id);

        var unixSeconds = new DateTimeOffset(ended).ToUnixTimeSeconds();
        Assert.That(row, Does.Contain($"""<span data-moment="{unixSeconds}">{ended:yyyy-MM-dd} 16:55:42Z</span>"""));
    }

    [Test]
    public async Task Lists_EncodeWhatTheLedgerHolds_AndPage()
    {
        var key = await App.CreateKeyAsync(name: "<b>owner</b>");
        // Created in the future, so that they are the newest whatever other tests here left.
        var first = Ledger.Job(key.KeyId, "<script>alert(1)</script>", JobStatus.Timeout, 10, at: DateTime.UtcNow.AddDays(2), errorMessage: "<i>late</i>");
        var second = Ledger.Job(key.KeyId, "wait", JobStatus.Timeout, 10, at: DateTime.UtcNow.AddDays(1));
        await App.AddJobsAsync([first, second]);

        var pageOne = await Dashboard.GetPageAsync("/jobs/timeout?from=0&count=1");
        var pageTwo = await Dashboard.GetPageAsync("/jobs/timeout?from=1&count=1");

        Assert.Multiple(() =>
        {
            Assert.That(pageOne, Does.Not.Contain("<script>alert(1)").And.Not.Contain("<b>owner").And.Not.Contain("<i>late"));
            Assert.That(DashboardPages.ListedRow(pageOne, first.Id), Does.Contain("&lt;script&gt;").And.Contain("&lt;b&gt;owner").And.Contain("&lt;i&gt;late"));
            Assert.That(DashboardPages.ListedRow(pageOne, second.Id), Is.Null, "one a page");
            Assert.That(DashboardPages.ListedRow(pageTwo, second.Id), Is.Not.Null, "the next page");
        });
    }

    [Test]
    public async Task Lists_ReadAtMostTheLargestPageTheSelectorOffers()
    {
        var key = await App.CreateKeyAsync();
        // Long ended, so that it is not among the newest other tests here look for; a list with none shows no pager.
        await App.AddJobsAsync([Ledger.Job(key.KeyId, "wait", JobStatus.Timeout, 10, at: DateTime.UtcNow.AddDays(-5))]);

        var page = await Dashboard.GetPageAsync("/jobs/timeout?count=2147483647");

        // The page size the pager read with is the selector's active choice (and the pages' links carry it).
        Assert.That(ActivePageSize(page), Is.EqualTo("5000"));
    }

    [Test]
    public async Task HangfiresOwnLists_ReadAtMostTheLargestPageTheSelectorOffers_Too()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync("echo", new { message = "a succeeded job, so that the list has a pager" });
        await client.WaitForStatusAsync(jobId, "completed");
        await Dashboard.WaitForPageAsync("/jobs/succeeded", html => html.Contains(jobId, StringComparison.Ordinal), "the job in Succeeded");

        var page = await Dashboard.GetPageAsync("/jobs/succeeded?count=2147483647&from=0");

        Assert.That(ActivePageSize(page), Is.EqualTo("5000"));
    }

    /// <summary>The page size a list's pager read with: the per-page selector's active choice (the pages' links carry it).</summary>
    private static string ActivePageSize(string page) =>
        Regex.Match(page, "class=\"btn btn-sm btn-default active[^\"]*\"\\s*href=\"[^\"]*count=([0-9]+)\"").Groups[1].Value;

    [Test]
    public async Task Lists_AreInTheOrderTheyEnded_WrapBetweenWords_AndLinkOnlyJobsHangfireStillHas()
    {
        var key = await App.CreateKeyAsync(name: "an owner with a rather long name");
        // The first created ended last. The whole list is read (count=500), wherever other tests' jobs put these.
        var createdFirst = Ledger.Job(key.KeyId, "wait", JobStatus.Timeout, 10, at: DateTime.UtcNow.AddHours(1), errorMessage: "ended last");
        createdFirst.CompletedAt = DateTime.UtcNow.AddHours(3);
        var createdLast = Ledger.Job(key.KeyId, "wait", JobStatus.Timeout, 10, at: DateTime.UtcNow.AddHours(2), errorMessage: "ended first");
        // Ended two days ago, longer than Hangfire keeps a job on any storage (and before this server started).
        var expired = Ledger.Job(key.KeyId, "wait", JobStatus.Timeout, 10, at: DateTime.UtcNow.AddDays(-2), errorMessage: "long gone");
        expired.HangfireId = "8f6bd0e4-5b1a-4c3e-9d2f-0a1b2c3d4e5f";
        await App.AddJobsAsync([createdFirst, createdLast, expired]);

        var page = await Dashboard.GetPageAsync("/jobs/timeout?count=500");
        var expiredRow = DashboardPages.ListedRow(page, expired.Id);

        Assert.Multiple(() =>
        {
            Assert.That(page.IndexOf(createdFirst.Id, StringComparison.Ordinal), Is.LessThan(page.IndexOf(createdLast.Id, StringComparison.Ordinal)), "the latest ended first");
            Assert.That(DashboardPages.ListedRow(page, createdFirst.Id), Does.Contain("<td class=\"agentcorex-wrap\">ended last</td>").And.Not.Contain("word-break"));
            Assert.That(expiredRow, Does.Contain("expired").And.Not.Contain("/hangfire/jobs/details/"), "no link to a job Hangfire no longer has");
            Assert.That(page, Does.Contain(Storage == TestStorage.Embedded
                ? "a Hangfire job also expires 3 hours after it ends, once 100000 jobs have ended after it, or at a restart of this embedded server, while the ledger keeps it"
                : "a Hangfire job also expires 1 day after it ends while the ledger keeps it"), "the storage's own expiration");
        });
        Assert.That(await StylesheetOfAsync(page), Does.Contain(".agentcorex-wrap { word-break: normal; overflow-wrap: anywhere; }"));
    }

    /// <summary>The dashboard's combined stylesheet, as the page links it.</summary>
    private async Task<string> StylesheetOfAsync(string page)
    {
        var href = Regex.Match(page, "<link rel=\"stylesheet\" href=\"(/hangfire/css[0-9]+)\"").Groups[1].Value;
        Assert.That(href, Is.Not.Empty, "the page links its stylesheet");
        return await Dashboard.GetStringAsync(href);
    }
}
