using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tools;
using AgentCorex.Tools.BuiltIn.Fail;

namespace AgentCorex.Tests.Tools;

/// <summary>
/// A tool's own failure (ToolFailedException) as a client sees it: EXECUTION_ERROR with a message that says something,
/// and a tool_code that is always UPPER_SNAKE_CASE.
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

    [Test]
    public void FailsCode_TooLong_IsNotAlsoMatchedAgainstItsPattern()
    {
        var result = new FailArgumentsValidator().Validate(new FailArguments("m", new string('a', 1_000_000)));

        Assert.That(result.Errors.Select(e => e.ErrorMessage), Is.EqualTo(new[] { "The length of 'code' must be 100 characters or fewer. You entered 1000000 characters." }));
    }

    [TestCase("DISK\n", false)]
    [TestCase("disk_full", false)]
    [TestCase("DISK_FULL", true)]
    public void FailsCode_IsCheckedAsItsPublishedPatternReads(string code, bool valid) =>
        Assert.That(new FailArgumentsValidator().Validate(new FailArguments("m", code)).IsValid, Is.EqualTo(valid));

    [TestCase("DISK_FULL_2")]
    [TestCase("NOT_FOUND")]
    [TestCase("RATE_LIMIT_EXCEEDED")]
    public void TheConstructor_TakesAnUpperSnakeCaseCode_AServersWordToo(string code)
    {
        var failure = new ToolFailedException(code, "full");

        Assert.That((failure.Code, failure.Message), Is.EqualTo((code, "full")));
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

    [TestCase("disk full")]
    [TestCase("not_found")]
    public async Task AMalformedCode_NeverReachesTheClient_TheToolsFaultIsSaid(string code)
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
                Assert.That(error.Str("message"), Does.StartWith("A tool's error code is UPPER_SNAKE_CASE"));
                Assert.That(error.At("details.tool_code"), Is.Null);
            }
        });
    }

    [Test]
    public async Task ACodeTheServerUsesToo_IsTheTools_BesideExecutionError()
    {
        // A tool that calls a service which refused it says so; the answer's own code stays EXECUTION_ERROR.
        var jobId = await user.SubmitAsync("test_tool_failure", new { code = "RATE_LIMIT_EXCEEDED", message = "the mail service refused" });

        var job = await user.WaitForFinalAsync(jobId);
        Assert.Multiple(() =>
        {
            Assert.That(job.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(job.Str("error.details.tool_code"), Is.EqualTo("RATE_LIMIT_EXCEEDED"));
        });
    }
}
