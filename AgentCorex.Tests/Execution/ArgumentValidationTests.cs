using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Execution;

/// <summary>Bad arguments are INVALID_ARGUMENTS naming the first bad one, with the validator's message.</summary>
public sealed class ArgumentValidationTests : ServerTest
{

    private static IEnumerable<TestCaseData> BadArguments()
    {
        yield return new TestCaseData("echo", "{}", "message", "Missing required argument: message").SetName("missing required argument");
        yield return new TestCaseData("echo", """{"message":""}""", "message", "'message' must not be empty.").SetName("empty string");
        yield return new TestCaseData("echo", $$"""{"message":"{{new string('x', 10_001)}}"}""", "message",
            "The length of 'message' must be 10000 characters or fewer. You entered 10001 characters.").SetName("too long");
        yield return new TestCaseData("echo", """{"message":42}""", "message", "'message' is not a valid string").SetName("number for string");
        yield return new TestCaseData("echo", """{"message":null}""", "message", "'message' is not a valid string").SetName("null for string");
        yield return new TestCaseData("echo", """{"message":"hi","extra":1}""", "extra", "Unknown argument: extra").SetName("unknown argument");
        yield return new TestCaseData("wait", """{"duration_ms":"10"}""", "duration_ms", "'duration_ms' is not a valid integer (a whole number from -2147483648 to 2147483647)").SetName("string for integer");
        yield return new TestCaseData("wait", """{"duration_ms":1.5}""", "duration_ms", "'duration_ms' is not a valid integer (a whole number from -2147483648 to 2147483647)").SetName("fraction for integer");
        yield return new TestCaseData("wait", """{"duration_ms":86400001}""", "duration_ms", "'duration_ms' must be between 0 and 86400000. You entered 86400001.").SetName("above maximum");
        yield return new TestCaseData("wait", """{"duration_ms":10,"steps":0}""", "steps", "'steps' must be between 1 and 1000. You entered 0.").SetName("below minimum");
        yield return new TestCaseData("fail", """{"message":"m","code":"lower"}""", "code", "'code' must be UPPER_SNAKE_CASE.").SetName("custom message");
        yield return new TestCaseData("fail", """{"message":"m","code":"ABC\n"}""", "code", "'code' must be UPPER_SNAKE_CASE.").SetName("pattern with a last newline");
        yield return new TestCaseData("echo", """{"message":" \t"}""", "message", "'message' must not be empty.").SetName("white space alone");
        yield return new TestCaseData("test_nested", """{"target":{"host":"","port":80},"tags":[]}""", "target.host", "'target.host' must not be empty.").SetName("nested property");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h","port":0},"tags":[]}""", "target.port",
            "'target.port' must be between 1 and 65535. You entered 0.").SetName("nested property out of its bounds");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h","port":"80"},"tags":[]}""", "target.port", "'target.port' is not a valid integer (a whole number from -2147483648 to 2147483647)").SetName("nested wrong type");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h"},"tags":[]}""", "target.port", "Missing required argument: target.port").SetName("nested missing");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h","port":80,"scheme":"x"},"tags":[]}""", "target.scheme", "Unknown argument: target.scheme").SetName("nested unknown");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h","port":80},"tags":[1]}""", "tags[0]", "'tags[0]' is not a valid string").SetName("list element of wrong type");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h","port":80},"tags":["ok",""]}""", "tags[1]", "'tags[1]' must not be empty.").SetName("list element");
        yield return new TestCaseData("test_nested", """{"target":{"host":"h","port":80},"tags":"a"}""", "tags", "'tags' is not a valid array").SetName("string for array");
        yield return new TestCaseData("test_nested", """{"target":"h:80","tags":[]}""", "target", "'target' is not a valid object").SetName("string for object");
    }

    [TestCaseSource(nameof(BadArguments))]
    public async Task Execute_NamesTheBadArgument(string tool, string arguments, string argument, string message)
    {
        var response = await Admin.PostRawAsync("/execute_tool", $$"""{"tool":"{{tool}}","arguments":{{arguments}}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("tool"), Is.EqualTo(tool));
            Assert.That(body.Str("status"), Is.EqualTo("error"));
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(body.Str("error.argument"), Is.EqualTo(argument));
            Assert.That(body.Str("error.message"), Is.EqualTo(message));
        });
    }

    [TestCase("/execute_tool", """{"tool":"echo","arguments":{"message":"hi"},"mode":5}""", "mode")]
    [TestCase("/execute_tool", """{"tool":"echo","arguments":{"message":"hi"},"timeout_ms":"100"}""", "timeout_ms")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":{"message":"hi"},"timeout_ms":1.5}""", "timeout_ms")]
    public async Task AFieldOfTheWrongJsonType_IsNamed_AndTheErrorStillNamesTheTool(string route, string body, string argument)
    {
        var response = await Admin.PostRawAsync(route, body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var error = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(error.Str("error.argument"), Is.EqualTo(argument));
            Assert.That(error.Str("tool"), Is.EqualTo("echo"));
            Assert.That(error.Str("status"), Is.EqualTo("error"));
        });
    }

    [TestCase("/execute_tool", """{"tool":"echo","tool":"fail","arguments":{"message":"hi"}}""", "tool")]
    [TestCase("/execute_tool", """{"tool":"echo","arguments":{"message":"hi","message":"there"}}""", "message")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":{"message":"hi"},"timeout_ms":100,"timeout_ms":200}""", "timeout_ms")]
    [TestCase("/jobs/submit", """{"tool":"fail","arguments":{"message":"x","code":"A","code":"B"}}""", "code")]
    [TestCase("/execute_tool", """{"tool":"echo","Tool":"fail","arguments":{"message":"hi"}}""", "tool")]
    [TestCase("/jobs/submit", """{"TIMEOUT_MS":100,"tool":"echo","arguments":{"message":"hi"},"timeout_ms":200}""", "timeout_ms")]
    [TestCase("/api_keys", """{"name":"a","Name":"b","plan":"free"}""", "name")]
    [TestCase("/api_keys", """{"name":"a","plan":"free","rate_limits":{"max_concurrent":1,"Max_Concurrent":2}}""", "rate_limits.max_concurrent")]
    public async Task AFieldGivenTwice_IsRefused_NotReadAsItsLastValue(string route, string body, string argument)
    {
        var response = await Admin.PostRawAsync(route, body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var error = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(error.Str("error.argument"), Is.EqualTo(argument));
            Assert.That(error.Str("error.message"), Is.EqualTo($"'{argument}' is given more than once"));
        });
    }

    [Test]
    public async Task APositionalRecordsJsonIgnoredParameter_IsNoArgument_AndTheOthersBind()
    {
        var ran = await Admin.PostRawAsync("/execute_tool", """{"tool":"test_record","arguments":{"label":"ignored"}}""");
        var given = await Admin.PostRawAsync("/execute_tool", """{"tool":"test_record","arguments":{"label":"ignored","attempt":2}}""");
        var schema = await (await Admin.GetAsync("/tools/test_record")).ReadObjectAsync();

        Assert.That(ran.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ran.Content.ReadAsStringAsync());
        Assert.That((await ran.ReadObjectAsync()).Str("result.label"), Is.EqualTo("ignored"));
        Assert.That(given.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await given.ReadObjectAsync()).Str("error.message"), Is.EqualTo("Unknown argument: attempt"));
        Assert.That(schema["input_schema"]?.ToJsonString(), Does.Not.Contain("attempt"));
    }

    [TestCase("[]")]
    [TestCase("\"text\"")]
    [TestCase("null")]
    [TestCase("3")]
    public async Task Execute_RejectsArguments_ThatAreNotAnObject(string arguments)
    {
        var response = await Admin.PostRawAsync("/execute_tool", $$"""{"tool":"echo","arguments":{{arguments}}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo("arguments"));
    }

    // The contract requires arguments; a request without them says so as one without a tool does, not that they are of the wrong type.
    [TestCase("/execute_tool", """{"tool":"echo"}""")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":null}""")]
    public async Task Execute_RejectsMissingArguments(string route, string request)
    {
        var response = await Admin.PostRawAsync(route, request);

        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("error.argument"), Is.EqualTo("arguments"));
            Assert.That(body.Str("error.message"), Is.EqualTo("Missing required argument: arguments"));
        });
    }

    [Test]
    public async Task Execute_RejectsMissingTool()
    {
        var response = await Admin.PostRawAsync("/execute_tool", """{"arguments":{}}""");

        var body = await response.ReadObjectAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(body.Str("error.argument"), Is.EqualTo("tool"));
            Assert.That(body.Str("error.message"), Is.EqualTo("Missing required argument: tool"));
        });
    }

    [TestCase("/execute_tool", """{"arguments":{}}""")]
    [TestCase("/jobs/submit", """{"arguments":{}}""")]
    [TestCase("/execute_tool", """{"tool":null,"arguments":{}}""")]
    [TestCase("/jobs/submit", """{"tool":7,"arguments":{}}""")]
    [TestCase("/execute_tool", """{"tool":"","arguments":{}}""")]
    [TestCase("/jobs/submit", "{}")]
    [TestCase("/execute_tool", "not json")]
    [TestCase("/jobs/submit", "[]")]
    public async Task AnExecutionError_OfARequestThatNamesNoTool_StillSaysStatusError(string route, string request)
    {
        var response = await Admin.PostRawAsync(route, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("status"), Is.EqualTo("error"), "as every error of an execution endpoint says");
            Assert.That(body.ContainsKey("tool"), Is.False, "no tool to name");
            Assert.That(body.Str("error.code"), Is.AnyOf("INVALID_ARGUMENTS", "INVALID_REQUEST"));
        });
    }

    [TestCase("/execute_tool", """{"tool":7,"arguments":{}}""", "tool", "'tool' is not a valid string")]
    [TestCase("/execute_tool", """{"tool":"echo","arguments":{"message":"x"},"timeout_ms":"soon"}""", "timeout_ms", "'timeout_ms' is not a valid integer (a whole number from -2147483648 to 2147483647)")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":{"message":"x"},"timeout_ms":99999999999}""", "timeout_ms", "'timeout_ms' is not a valid integer (a whole number from -2147483648 to 2147483647)")]
    [TestCase("/execute_tool", """{"tool":"echo","arguments":{"message":"x"},"mode":true}""", "mode", "'mode' is not a valid string")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":"x"}""", "arguments", "'arguments' must be a JSON object")]
    [TestCase("/api_keys", """{"name":"k","rate_limits":{"max_concurrent":"many"}}""", "rate_limits.max_concurrent", "'rate_limits.max_concurrent' is not a valid integer (a whole number from -2147483648 to 2147483647)")]
    [TestCase("/api_keys", """{"name":"k","rate_limits":[]}""", "rate_limits", "'rate_limits' is not a valid object")]
    public async Task ARequestField_OfTheWrongJsonType_IsNamed_WithWhatItShouldBe(string route, string request, string field, string message)
    {
        var response = await Admin.PostRawAsync(route, request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(body.Str("error.argument"), Is.EqualTo(field));
            Assert.That(body.Str("error.message"), Is.EqualTo(message));
        });
    }
}
