using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Dashboard;

/// <summary>The AgentCorex panel on a Hangfire job's page: a progress bar while the job runs, then its result or error.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class JobPanelTests(TestStorage storage) : DashboardTest(storage)
{
    [Test]
    public async Task RunningJob_ShowsAProgressBar_WithTheToolsLastReport()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync("wait", new { duration_ms = 20_000, steps = 4 });
        var reported = await client.WaitForJobAsync(jobId, j => j.At("progress.percentage")?.GetValue<int>() >= 25);
        var hangfireId = await App.HangfireIdAsync(jobId);

        var page = await Dashboard.GetPageAsync($"/jobs/details/{hangfireId}");
        await client.DeleteAsync($"/jobs/{jobId}?force=true");

        var bar = Regex.Match(page, "<div class=\"progress-bar[^\"]*\" role=\"progressbar\" aria-valuenow=\"([0-9]+)\" aria-valuemin=\"0\" aria-valuemax=\"100\" style=\"width: ([0-9]+)%;");
        Assert.That(bar.Success, Is.True, page);
        var shown = int.Parse(bar.Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            // At least what the API said a moment before; a 5 s step leaves no time for the next one.
            Assert.That(shown, Is.EqualTo(reported.At("progress.percentage")!.GetValue<int>()));
            Assert.That(bar.Groups[2].Value, Is.EqualTo(bar.Groups[1].Value), "the bar's width");
            Assert.That(page, Does.Contain($"current step <code>{reported.Str("progress.current_step")}</code> · total steps 4 · {shown} %"));
            Assert.That(page, Does.Contain("data-status=\"running\""));
        });
    }

    [Test]
    public async Task CompletedJob_ShowsItsResult_AndNoProgressBar()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync("echo", new { message = "<b>hello</b>" });
        await client.WaitForStatusAsync(jobId, "completed");

        var page = await Dashboard.GetPageAsync($"/jobs/details/{await App.HangfireIdAsync(jobId)}");

        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Contain("data-status=\"completed\""));
            Assert.That(page, Does.Not.Contain("role=\"progressbar\""));
            Assert.That(page, Does.Contain("<th class=\"width-15\">Result</th>"));
            Assert.That(page, Does.Contain("&quot;message&quot;: &quot;&lt;b&gt;hello&lt;/b&gt;&quot;"), "the result, indented and encoded");
            Assert.That(page, Does.Not.Contain("<b>hello</b>"));
        });
    }

    [Test]
    public async Task CompletedJob_SucceededStateResult_IsItsStatusAndExecutionTime_NotADotNetType()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync("test_nested", new
        {
            target = new { host = "db.internal", port = 5432 },
            tags = new[] { "x" },
            api_token = "sk-live-not-in-the-result",
        });
        var job = await client.WaitForStatusAsync(jobId, "completed");

        // The ledger says completed a moment before Hangfire moves the job to Succeeded.
        var page = await Dashboard.WaitForPageAsync($"/jobs/details/{await App.HangfireIdAsync(jobId)}",
            html => html.Contains("<dt>Result:</dt>", StringComparison.Ordinal), "the Succeeded state's result");
        var result = WebUtility.HtmlDecode(Regex.Match(page, "<dt>Result:</dt><dd>(.*?)</dd>", RegexOptions.Singleline).Groups[1].Value);

        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo($$"""{"status":"completed","execution_time_ms":{{job["execution_time_ms"]!.GetValue<long>()}}}"""));
            Assert.That(page, Does.Not.Contain("$type"));
            Assert.That(page, Does.Not.Contain(nameof(AgentCorex.Web.Jobs.JobRunSummary)));
            Assert.That(page, Does.Not.Contain("sk-live-not-in-the-result"));
        });
    }

    [Test]
    public async Task FailedJob_ShowsItsErrorCodeMessageAndDetails()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync("fail", new { message = "<i>disk full</i>", code = "DISK_FULL" });
        await client.WaitForStatusAsync(jobId, "failed");

        var page = await Dashboard.GetPageAsync($"/jobs/details/{await App.HangfireIdAsync(jobId)}");

        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Contain("data-status=\"failed\""));
            Assert.That(page, Does.Contain("<code class=\"agentcorex-error-code\">EXECUTION_ERROR</code> &lt;i&gt;disk full&lt;/i&gt;"));
            Assert.That(page, Does.Contain("&quot;tool_code&quot;: &quot;DISK_FULL&quot;"), "the error's details");
            Assert.That(page, Does.Not.Contain("<i>disk full</i>"));
            Assert.That(page, Does.Not.Contain("<th class=\"width-15\">Result</th>"));
        });
    }

    [Test]
    public async Task FailedJob_HidesASecretInItsErrorMessage_InThePanelAndHangfiresFailedState()
    {
        using var client = App.CreateClient((await App.CreateKeyAsync(plan: "pro")).ApiKey);
        var jobId = await client.SubmitAsync("fail", new { message = "cannot reach postgres://app:hunter2@db.internal/x" });
        await client.WaitForStatusAsync(jobId, "failed");

        // The ledger says failed a moment before Hangfire moves the job to Failed.
        var page = await Dashboard.WaitForPageAsync($"/jobs/details/{await App.HangfireIdAsync(jobId)}",
            html => html.Contains("ToolJobFailedException", StringComparison.Ordinal), "Hangfire's Failed state");

        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Not.Contain("hunter2"));
            Assert.That(page, Does.Contain("<code class=\"agentcorex-error-code\">EXECUTION_ERROR</code> cannot reach postgres://app:[REDACTED]@db.internal/x"));
        });
        Assert.That((await client.GetJobAsync(jobId)).Str("error.message"), Does.Contain("hunter2"), "its owner still reads the error as the tool gave it");
    }
}
