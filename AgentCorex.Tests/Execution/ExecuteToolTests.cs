using System.Diagnostics;
using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Execution;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ExecuteToolTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Execution:MaxTimeoutMs"] = "120000" };


    [Test]
    public async Task Execute_ReturnsResult_ForEcho()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "hello there" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("tool"), Is.EqualTo("echo"));
            Assert.That(body.Str("status"), Is.EqualTo("success"));
            Assert.That(body.Str("result.message"), Is.EqualTo("hello there"));
            Assert.That(body["execution_time_ms"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(0));
            Assert.That(body.At("tokens_used.input")!.GetValue<long>(), Is.Zero);
            Assert.That(body.At("tokens_used.output")!.GetValue<long>(), Is.Zero);
        });
    }

    [Test]
    public async Task Execute_ReportsTokensTheToolUsed()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new
        {
            tool = "test_nested",
            arguments = new { target = new { host = "db", port = 5432 }, tags = new[] { "a", "b", "c" } },
        });

        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("result.address"), Is.EqualTo("db:5432"));
            Assert.That(body.At("tokens_used.input")!.GetValue<long>(), Is.EqualTo(4));
            Assert.That(body.At("tokens_used.output")!.GetValue<long>(), Is.EqualTo(7));
        });
    }

    [Test]
    public async Task Execute_WaitsAndReportsWaitedTime()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "wait", arguments = new { duration_ms = 120, steps = 3 } });

        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body.ToJsonString());
        Assert.That(body.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(120));
        Assert.That(body["execution_time_ms"]!.GetValue<long>(), Is.GreaterThanOrEqualTo(110));
    }

    [Test]
    public async Task Execute_ReturnsExecutionError_WithToolCode_WhenToolFails()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "fail", arguments = new { message = "disk on fire", code = "DISK_FIRE" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("tool"), Is.EqualTo("fail"));
            Assert.That(body.Str("status"), Is.EqualTo("error"));
            Assert.That(body.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(body.Str("error.message"), Is.EqualTo("disk on fire"));
            Assert.That(body.Str("error.details.tool_code"), Is.EqualTo("DISK_FIRE"));
        });
    }

    [Test]
    public async Task Execute_UsesDefaultToolCode_WhenFailGivesNone()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "fail", arguments = new { message = "nope" } });

        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.details.tool_code"), Is.EqualTo("TOOL_FAILED"));
    }

    [Test]
    public async Task Execute_ReturnsMessageWithoutStackTrace_WhenToolThrows()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_throw", arguments = new { message = "kaput" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        var text = await response.Content.ReadAsStringAsync();
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(body.Str("error.message"), Is.EqualTo("kaput"));
            Assert.That(text, Does.Not.Contain(" at ").And.Not.Contain("InvalidOperationException").And.Not.Contain(".cs:"));
        });
    }

    [Test]
    public async Task Execute_FailsAsAnExecutionError_WhenTheToolsResultCannotBeWrittenAsJson()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_bad_result", arguments = new { } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("tool"), Is.EqualTo("test_bad_result"));
            Assert.That(body.Str("status"), Is.EqualTo("error"));
            Assert.That(body.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(body.Str("error.message"), Does.StartWith("The tool's result cannot be written as JSON"));
            // What is wrong, not System.Text.Json's advice on its own settings, which is for the tool's author (logged).
            Assert.That(body.Str("error.message"), Does.Contain("cannot be written as valid JSON.")
                .And.Not.Contain("JsonNumberHandling").And.Not.Contain("https://"));
        });
    }

    [Test]
    public async Task Execute_KeepsTheToolsCodeAndMessage_WhenItsDetailsCannotBeWrittenAsJson()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_bad_result", arguments = new { in_details = true } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(body.Str("error.message"), Is.EqualTo("no ratio"));
            Assert.That(body.Str("error.details.tool_code"), Is.EqualTo("RATIO_UNDEFINED"));
            Assert.That(body.At("error.details.ratio"), Is.Null);
        });
    }

    [Test]
    public async Task Execute_TimesOutOnTime_EvenWhenToolIgnoresItsToken()
    {
        var watch = Stopwatch.StartNew();
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_ignore_token", arguments = new { duration_ms = 5000 }, timeout_ms = 300 });
        watch.Stop();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("tool"), Is.EqualTo("test_ignore_token"));
            Assert.That(body.Str("status"), Is.EqualTo("timeout"));
            Assert.That(body.Str("error.code"), Is.EqualTo("EXECUTION_TIMEOUT"));
            Assert.That(body.Str("error.message"), Is.EqualTo("Tool execution exceeded 300ms timeout"));
            Assert.That(body.Select(p => p.Key), Is.EqualTo(new[] { "tool", "status", "error" }), "the contract's order");
            // The tool would block for 5 s; the answer must come at the deadline, not when the tool ends.
            Assert.That(watch.ElapsedMilliseconds, Is.InRange(295, 2500), "at the deadline (.NET's timers may fire a millisecond early), not after the tool's 5 s");
        });
    }

    [Test]
    public async Task Execute_CancelsCooperativeTool_AtTheTimeout()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "wait", arguments = new { duration_ms = 60_000 }, timeout_ms = 200 });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.GatewayTimeout));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.message"), Is.EqualTo("Tool execution exceeded 200ms timeout"));
    }

    [TestCase(0)]
    [TestCase(-5)]
    [TestCase(120_001)]
    public async Task Execute_RejectsTimeout_OutsideItsRange(int timeoutMs)
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, timeout_ms = timeoutMs });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(body.Str("error.argument"), Is.EqualTo("timeout_ms"));
            Assert.That(body.Str("error.message"), Does.Contain("120000"));
        });
    }

    [Test]
    public async Task Execute_AcceptsTimeout_AtTheConfiguredMaximum()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, timeout_ms = 120_000 });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("sync", HttpStatusCode.OK)]
    [TestCase("later", HttpStatusCode.BadRequest)]
    [TestCase("", HttpStatusCode.BadRequest)]
    public async Task Execute_AcceptsOnlyKnownModes(string mode, HttpStatusCode expected)
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, mode });

        Assert.That(response.StatusCode, Is.EqualTo(expected));
        if (expected == HttpStatusCode.BadRequest)
        {
            var body = await response.ReadObjectAsync();
            Assert.That(body.Str("error.argument"), Is.EqualTo("mode"));
        }
    }

    [Test]
    public async Task Execute_ReturnsToolNotFound_ForUnknownTool()
    {
        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "create_pull_request", arguments = new { } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("tool"), Is.EqualTo("create_pull_request"));
            Assert.That(body.Str("status"), Is.EqualTo("error"));
            Assert.That(body.Str("error.code"), Is.EqualTo("TOOL_NOT_FOUND"));
        });
    }
}
