using System.Net;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tools;

namespace AgentCorex.Tests.Tools;

/// <summary>
/// A tool's own failure (ToolFailedException) as a client sees it: EXECUTION_ERROR with a message that says something,
/// and a tool_code it can never mistake for one of the server's codes.
/// </summary>
public sealed class ToolFailureTests : ServerTest
{
    private HttpClient user = null!;

    [OneTimeSetUp]
    public async Task CreateUser() => user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

    [OneTimeTearDown]
    public void DisposeUser() => user.Dispose();

    [TestCase("disk_full")]
    [TestCase("Disk_Full")]
    [TestCase("DISK FULL")]
    [TestCase("DISK-FULL")]
    [TestCase("1DISK")]
    [TestCase("_DISK")]
    [TestCase("DISK\n")]
    [TestCase("")]
    [TestCase(null)]
    public void TheConstructor_RefusesACodeThatIsNotUpperSnakeCase(string? code) =>
        Assert.That(() => new ToolFailedException(code!, "m"), Throws.ArgumentException.With.Property(nameof(ArgumentException.ParamName)).EqualTo("code"));

    [Test]
    public void TheConstructor_RefusesACodeLongerThanItsMaximum() =>
        Assert.That(() => new ToolFailedException(new string('A', ToolFailedException.MaxCodeLength + 1), "m"), Throws.ArgumentException);

    [TestCase("TOOL_NOT_FOUND")]
    [TestCase("INVALID_ARGUMENTS")]
    [TestCase("RATE_LIMIT_EXCEEDED")]
    [TestCase("JOB_NOT_FOUND")]
    [TestCase("EXECUTION_TIMEOUT")]
    [TestCase("EXECUTION_ERROR")]
    [TestCase("INTERNAL_ERROR")]
    [TestCase("HTTP_418")]
    public void TheConstructor_RefusesTheServersOwnCodes(string code) =>
        Assert.That(() => new ToolFailedException(code, "m"), Throws.ArgumentException.With.Message.Contains("server's own error codes"));

    [Test]
    public void TheConstructor_TakesAnUpperSnakeCaseCodeOfTheTools()
    {
        var failure = new ToolFailedException("DISK_FULL_2", "full");

        Assert.That((failure.Code, failure.Message), Is.EqualTo(("DISK_FULL_2", "full")));
    }

    [Test]
    public void EveryErrorCodeTheReadmeLists_IsReservedFromTools()
    {
        // "`RATE_LIMIT_EXCEEDED` (429, ...": every code the server answers is documented so, with its status.
        var documented = Regex.Matches(RepositoryFiles.Read("README.md"), @"`([A-Z][A-Z0-9_]+)` \([0-9]{3}\b")
            .Select(m => m.Groups[1].Value).Distinct().ToList();

        Assert.That(documented, Has.Count.GreaterThan(20));
        Assert.That(documented.Where(code => !ToolFailedException.IsReserved(code)), Is.Empty);
    }

    [TestCase("")]
    [TestCase("  \t")]
    public async Task ABlankMessage_IsAnsweredWithOneThatSaysSo_KeepingTheToolsCodeAndDetails(string message)
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_tool_failure", arguments = new { code = "DISK_FULL", message } });
        var jobId = await user.SubmitAsync("test_tool_failure", new { code = "DISK_FULL", message });

        var direct = await response.ReadObjectAsync();
        var job = await user.WaitForFinalAsync(jobId);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(job.Str("status"), Is.EqualTo("failed"));
            foreach (var error in new[] { direct["error"], job["error"] })
            {
                Assert.That(error.Str("code"), Is.EqualTo("EXECUTION_ERROR"));
                Assert.That(error.Str("message"), Is.EqualTo("The tool failed without saying why"));
                Assert.That(error.Str("details.tool_code"), Is.EqualTo("DISK_FULL"));
                Assert.That(error.Str("details.disk"), Is.EqualTo("sda"));
            }
        });
    }

    [TestCase("RATE_LIMIT_EXCEEDED")]
    [TestCase("TOOL_NOT_FOUND")]
    [TestCase("HTTP_404")]
    [TestCase("disk full")]
    public async Task ACodeThatIsTheServersOrMalformed_NeverReachesTheClient_TheToolsFaultIsSaid(string code)
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_tool_failure", arguments = new { code, message = "full" } });
        var jobId = await user.SubmitAsync("test_tool_failure", new { code, message = "full" });

        var direct = await response.ReadObjectAsync();
        var job = await user.WaitForFinalAsync(jobId);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(direct.Str("status"), Is.EqualTo("error"));
            Assert.That(job.Str("status"), Is.EqualTo("failed"));
            foreach (var error in new[] { direct["error"], job["error"] })
            {
                Assert.That(error.Str("code"), Is.EqualTo("EXECUTION_ERROR"));
                Assert.That(error.Str("message"), Does.StartWith("A tool's error code is UPPER_SNAKE_CASE").Or.Contains("is one of the server's own error codes"));
                Assert.That(error.At("details.tool_code"), Is.Null);
            }
        });
    }

    [TestCase("TOOL_NOT_FOUND")]
    [TestCase("HTTP_429")]
    public async Task Fail_RefusesTheServersOwnCodes_AsInvalidArguments(string code)
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "fail", arguments = new { message = "m", code } });

        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(body.Str("error.argument"), Is.EqualTo("code"));
            Assert.That(body.Str("error.message"), Is.EqualTo("'code' must not be one of the server's own error codes."));
        });
    }
}
