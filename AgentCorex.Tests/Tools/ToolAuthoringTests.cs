using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tools;
using AgentCorex.Tools.BuiltIn.Echo;
using AgentCorex.Web.Tools;
using FluentValidation;
using Json.Schema;

namespace AgentCorex.Tests.Tools;

/// <summary>What a tool author writes, as README's "Writing a tool" says it is read, validated and described.</summary>
public sealed class ToolAuthoringTests : ServerTest
{
    private const string Shapes = """{"target":{"host":"h","port":80},"mirrors":[]""";

    [Test]
    public async Task AnAsynchronousRule_IsRun_AndItsFailureIsInvalidArguments()
    {
        var taken = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_async_rule", arguments = new { name = "taken" } });
        var free = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_async_rule", arguments = new { name = "free" } });
        var submitted = await Admin.PostJsonAsync("/jobs/submit", new { tool = "test_async_rule", arguments = new { name = "taken" } });

        var error = await taken.ReadObjectAsync();
        Assert.Multiple(async () =>
        {
            Assert.That(taken.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(error.Str("error.message"), Is.EqualTo("'name' is taken."));
            Assert.That(error.Str("error.argument"), Is.EqualTo("name"));
            Assert.That(free.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(submitted.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await submitted.ReadObjectAsync()).Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        });
    }

    private static IEnumerable<TestCaseData> BadShapes()
    {
        yield return new TestCaseData("""{"target":{"host":"localhost","port":80},"mirrors":[]}""", "target.host", "'host' must not be localhost.")
            .SetName("a rule on a nested member names its path");
        yield return new TestCaseData("""{"target":{"host":"h","port":80},"mirrors":[{"host":"m","port":1},null]}""", "mirrors[1]", "'mirrors[1]' is not a valid object")
            .SetName("a null item of a list of objects");
        yield return new TestCaseData(Shapes + ""","when":"yesterday"}""", "when", "'when' is not a valid " + DateTimeString)
            .SetName("a date-time that is not one");
        yield return new TestCaseData(Shapes + ""","when":"2026-01-02"}""", "when", "'when' is not a valid " + DateTimeString)
            .SetName("a date alone for a date-time");
        yield return new TestCaseData(Shapes + ""","until":"2026-01-02T03:04:05"}""", "until", "'until' is not a valid " + DateTimeString)
            .SetName("a DateTime without an offset");
        yield return new TestCaseData(Shapes + ""","callback":"/hooks/done"}""", "callback", "'callback' is not a valid absolute URI string (RFC 3986, such as https://example.com/path)")
            .SetName("a relative URI");
        yield return new TestCaseData(Shapes + ""","links":["https://example.com/a","b"]}""", "links[1]", "'links[1]' is not a valid absolute URI string (RFC 3986, such as https://example.com/path)")
            .SetName("a relative URI in a list, named by its whole path");
        yield return new TestCaseData(Shapes + ""","hosts":{"a":{"host":"h"}}}""", "hosts.a.port", "Missing required argument: hosts.a.port")
            .SetName("a missing property of a map's value");
        yield return new TestCaseData(Shapes + ""","hosts":{"a":{"host":"h","port":1,"prot":2}}}""", "hosts.a.prot", "Unknown argument: hosts.a.prot")
            .SetName("an unknown property of a map's value");
        yield return new TestCaseData(Shapes + ""","hosts":{"a":{"host":"h","port":1},"b":null}}""", "hosts.b", "'hosts.b' is not a valid object")
            .SetName("a null value of a map of objects");
        yield return new TestCaseData(Shapes + ""","hosts":{"a":{"host":"h","port":"x"}}}""", "hosts.a.port", "'hosts.a.port' is not a valid integer (a whole number from -2147483648 to 2147483647)")
            .SetName("a value of the wrong type in a map's value");
        yield return new TestCaseData(Shapes + ""","weights":{"a":"x"}}""", "weights.a", "'weights.a' is not a valid integer (a whole number from -2147483648 to 2147483647)")
            .SetName("a value of a map of the wrong type");
        yield return new TestCaseData(Shapes + ""","weights":[1]}""", "weights", "'weights' is not a valid object")
            .SetName("a list for a map");
        yield return new TestCaseData(Shapes + ""","priority":"urgent"}""", "priority", "'priority' is not a valid value (one of low, very_high)")
            .SetName("an enum's value it does not name");
        // Names System.Text.Json would read, which the schema's enum does not list.
        yield return new TestCaseData(Shapes + ""","priority":"VeryHigh"}""", "priority", "'priority' is not a valid value (one of low, very_high)")
            .SetName("an enum's C# name");
        yield return new TestCaseData(Shapes + ""","priority":"1"}""", "priority", "'priority' is not a valid value (one of low, very_high)")
            .SetName("an enum's number in a string");
        yield return new TestCaseData(Shapes + ""","quotas":{"low":1,"VeryHigh":2}}""", "quotas.VeryHigh", "'quotas.VeryHigh' is not a valid key (one of low, very_high)")
            .SetName("a map's enum key by its C# name");
    }

    [TestCaseSource(nameof(BadShapes))]
    public async Task ABadArgument_IsNamedByItsPath_AndWhatItShouldBe(string arguments, string argument, string message)
    {
        var response = await Admin.PostRawAsync("/execute_tool", $$"""{"tool":"test_shapes","arguments":{{arguments}}}""");

        var error = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(error.Str("error.argument"), Is.EqualTo(argument));
            Assert.That(error.Str("error.message"), Is.EqualTo(message));
        });
    }

    private const string DateTimeString = "date-time string (RFC 3339, a date, a time and an offset, such as 2026-01-02T03:04:05Z)";

    private static IEnumerable<TestCaseData> FormattedStrings()
    {
        (string Argument, string Value, bool Valid)[] cases =
        [
            ("when", "2026-01-02T03:04:05Z", true),
            ("when", "2026-01-02t03:04:05.123456789+02:00", true),
            ("when", "2026-01-02 03:04:05-05:00", true),
            ("when", "2026-01-02", false),
            ("when", "2026-01-02T03:04:05", false),
            ("when", "2026-01-02T03:04Z", false),
            ("when", "2026-01-02T03:04:05+02", false),
            ("when", "2026-02-30T03:04:05Z", false),
            ("until", "2026-01-02T03:04:05+02:00", true),
            ("until", "2026-01-02T03:04:05", false),
            ("callback", "https://example.com/a?b=c#d", true),
            ("callback", "mailto:ops@example.com", true),
            ("callback", "/a/b", false),
            ("callback", "example.com", false),
            ("callback", "", false),
            ("callback", "https://example.com/a b", false),
            ("on", "2026-01-02", true),
            ("on", "2026-1-2", false),
            ("on", "2026-01-02T00:00:00Z", false),
            ("at", "03:04:05", true),
            ("at", "23:59:59.1234567", true),
            ("at", "3:04:05", false),
            ("at", "03:04", false),
            ("at", "03:04:05Z", false),
            ("at", "24:00:00", false),
            ("every", "03:04:05", true),
            ("every", "-1.02:03:04.5", true),
            ("every", "03:04", false),
            ("every", "3:04:05", false),
            ("every", "24:00:00", false),
            ("every", "P1D", false),
        ];
        return cases.Select(c => new TestCaseData(c.Argument, c.Value, c.Valid).SetName($"{c.Argument} '{c.Value}' {(c.Valid ? "taken" : "refused")}"));
    }

    [TestCaseSource(nameof(FormattedStrings))]
    public Task AStringOfAFormat_IsTakenByTheServer_ExactlyWhenItsPublishedSchemaTakesIt(string argument, string value, bool valid) =>
        TakenExactlyWhenThePublishedSchemaTakesIt(argument, JsonValue.Create(value), valid, argument);

    [TestCase("weights", """{"a":2147483647}""", true, "weights.a")]
    [TestCase("weights", """{"a":-2147483648}""", true, "weights.a")]
    [TestCase("weights", """{"a":2147483648}""", false, "weights.a")]
    [TestCase("weights", """{"a":-2147483649}""", false, "weights.a")]
    [TestCase("weights", """{"a":99999999999}""", false, "weights.a")]
    [TestCase("priority", "\"very_high\"", true, "priority")]
    [TestCase("priority", "\"VeryHigh\"", false, "priority")]
    [TestCase("priority", "\"LOW\"", false, "priority")]
    [TestCase("quotas", """{"very_high":1,"low":2}""", true, "quotas")]
    [TestCase("quotas", """{"VeryHigh":1}""", false, "quotas.VeryHigh")]
    [TestCase("quotas", """{"1":1}""", false, "quotas.1")]
    public Task AnIntegerOrAnEnum_IsTakenByTheServer_ExactlyWhenItsPublishedSchemaTakesIt(string argument, string value, bool valid, string named) =>
        TakenExactlyWhenThePublishedSchemaTakesIt(argument, JsonNode.Parse(value), valid, named);

    /// <summary>
    /// Runs test_shapes with <paramref name="argument"/> set to <paramref name="value"/>: the server takes it exactly when
    /// its published schema does, and a refusal names the bad value (<paramref name="named"/>) and what it should have been.
    /// </summary>
    private async Task TakenExactlyWhenThePublishedSchemaTakesIt(string argument, JsonNode? value, bool valid, string named)
    {
        var schema = (await (await Admin.GetAsync("/tools/test_shapes")).ReadObjectAsync())["input_schema"]!;
        var arguments = JsonNode.Parse(Shapes + "}")!.AsObject();
        arguments[argument] = value;

        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_shapes", arguments });

        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(Problems(schema, arguments), valid ? Is.Empty : Is.Not.Empty, "the published schema");
            Assert.That(response.StatusCode, Is.EqualTo(valid ? HttpStatusCode.OK : HttpStatusCode.BadRequest), body.ToJsonString());
            if (!valid)
            {
                Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
                Assert.That(body.Str("error.argument"), Is.EqualTo(named));
                Assert.That(body.Str("error.message"), Does.StartWith($"'{named}' is not a valid "));
            }
        });
    }

    [Test]
    public async Task ADateTime_IsReadAsTheInstantItsOffsetSays_InUtc()
    {
        var response = await Admin.PostRawAsync("/execute_tool", """{"tool":"test_shapes","arguments":""" + Shapes + ""","until":"2026-01-02T03:04:05+02:00"}}""");

        Assert.That((await response.ReadObjectAsync()).Str("result.until"), Is.EqualTo("2026-01-02T01:04:05Z"));
    }

    [TestCase("/execute_tool")]
    [TestCase("/jobs/submit")]
    public async Task AValidatorThatThrows_IsAnInternalError_ForTheTool_SayingNothingOfIt(string route)
    {
        var response = await Admin.PostRawAsync(route, """{"tool":"test_shapes","arguments":""" + Shapes + ""","mode":"crash"}}""");

        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.InternalServerError));
            Assert.That(body.Str("error.code"), Is.EqualTo("INTERNAL_ERROR"));
            Assert.That(body.Str("status"), Is.EqualTo("error"), "an execution endpoint's error says so");
            Assert.That(body.Str("tool"), Is.EqualTo("test_shapes"), "and names the tool, as its other errors do");
            Assert.That(body.ToJsonString(), Does.Not.Contain("secret-42"));
        });
    }

    [Test]
    public async Task AValidatorThatThrowsAsTheJobRuns_FailsTheJobAtOnce_AsExecutionError_SayingNothingOfIt()
    {
        // Let out to Hangfire, the job stayed running in the ledger until the repair pass ended it SERVER_RESTARTED.
        var label = "flaky-" + Guid.NewGuid().ToString("N");
        var jobId = await Admin.SubmitAsync("test_flaky_check", new { label });

        var job = await Admin.WaitForFinalAsync(jobId, within: TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(job.Str("status"), Is.EqualTo("failed"));
            Assert.That(job.Str("error.code"), Is.EqualTo("EXECUTION_ERROR"));
            Assert.That(job.Str("error.message"), Is.EqualTo("The server failed to handle the request"));
            Assert.That(job.ToJsonString(), Does.Not.Contain("secret-17"));
            Assert.That(TestTools.FlakyCheckArgumentsValidator.Checks[label], Is.EqualTo(2), "checked at submit, and as the job ran");
        });
    }

    [Test]
    public async Task ACheckWithACondition_IsNotInTheSchema_WhichTakesWhatTheServerTakes()
    {
        var schema = (await (await Admin.GetAsync("/tools/test_shapes")).ReadObjectAsync())["input_schema"]!;
        var arguments = JsonNode.Parse(Shapes + ""","verbose":false,"mode":""}""")!;

        var response = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_shapes", arguments });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "mode may be empty unless verbose");
        Assert.That(Problems(schema, arguments), Is.Empty);
        Assert.That(schema.At("properties.mode.minLength"), Is.Null);
    }

    [Test]
    public async Task AResult_MatchesTheToolsOutputSchema_WithItsNullPropertiesLeftOut()
    {
        var tool = await (await Admin.GetAsync("/tools/test_shapes")).ReadObjectAsync();

        var response = await Admin.PostRawAsync("/execute_tool", """{"tool":"test_shapes","arguments":""" + Shapes + "}}");

        var result = (await response.ReadObjectAsync())["result"]!;
        Assert.That(result["mode"], Is.Null, "left out, as every null of the API is");
        Assert.That(Problems(tool["output_schema"]!, result), Is.Empty);
    }

    [Test]
    public async Task AnEnum_IsReadAndWrittenByItsSnakeCaseName_AsTheSchemaListsThem_ANumberStillRead()
    {
        var tool = await (await Admin.GetAsync("/tools/test_shapes")).ReadObjectAsync();
        var byName = JsonNode.Parse(Shapes + ""","priority":"very_high"}""")!;

        var named = await Admin.PostJsonAsync("/execute_tool", new { tool = "test_shapes", arguments = byName });
        var numbered = await Admin.PostRawAsync("/execute_tool", """{"tool":"test_shapes","arguments":""" + Shapes + ""","priority":1}}""");

        var result = (await named.ReadObjectAsync())["result"]!;
        Assert.Multiple(async () =>
        {
            Assert.That(tool.At("input_schema.properties.priority.enum")?.ToJsonString(), Does.Contain("\"low\"").And.Contain("\"very_high\""));
            Assert.That(Problems(tool["input_schema"]!, byName), Is.Empty);
            Assert.That(result.Str("priority"), Is.EqualTo("very_high"));
            Assert.That(Problems(tool["output_schema"]!, result), Is.Empty);
            Assert.That((await numbered.ReadObjectAsync()).Str("result.priority"), Is.EqualTo("very_high"), "a number, as arguments stored before were written");
        });
    }

    [Test]
    public void ANotEmptyStringsPattern_AsAClientReadsIt_RefusesExactlyTheCharactersNotEmptyRefuses()
    {
        var validator = new EchoArgumentsValidator();
        var pattern = ToolSchemas.ForArguments(typeof(EchoArguments), validator).Str("properties.message.pattern");
        var asPublished = PublishedPatterns.Strict(pattern!);

        var disagreeing = Enumerable.Range(0, char.MaxValue + 1).Select(c => ((char)c).ToString())
            .Where(text => asPublished.IsMatch(text) != validator.Validate(new EchoArguments(text)).IsValid);

        Assert.That(disagreeing.Select(text => $"U+{(int)text[0]:X4}"), Is.Empty, pattern);
    }

    [Test]
    public void A64BitIntegersRange_IsPublishedExactly()
    {
        var schema = ToolSchemas.ForArguments(typeof(WideArguments), new InlineValidator<WideArguments>());

        // As JSON text: a number read as a double (JavaScript's) would be 2^63 and 2^64, past what the server takes.
        Assert.Multiple(() =>
        {
            Assert.That(schema.At("properties.offset.minimum")?.ToJsonString(), Is.EqualTo("-9223372036854775808"));
            Assert.That(schema.At("properties.offset.maximum")?.ToJsonString(), Is.EqualTo("9223372036854775807"));
            Assert.That(schema.At("properties.serial.minimum")?.ToJsonString(), Is.EqualTo("0"));
            Assert.That(schema.At("properties.serial.maximum")?.ToJsonString(), Is.EqualTo("18446744073709551615"));
        });
    }

    private sealed record WideArguments(long Offset, ulong Serial);

    [TestCase(typeof(object))]
    [TestCase(typeof(JsonElement))]
    public void AResultOfAnyJson_HasTheEmptySchema(Type resultType)
    {
        var schema = ToolSchemas.ForResult(resultType);

        // Not {"type":true}, which no JSON Schema validator reads.
        Assert.That(schema.ToJsonString(), Is.EqualTo("{}"));
    }

    private static List<string> Problems(JsonNode schema, JsonNode instance)
    {
        var compiled = JsonSchema.FromText(schema.ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        // Formats asserted, as a strict client's validator does: 2020-12 makes them annotations unless asked.
        var options = new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true };
        var results = compiled.Evaluate(JsonDocument.Parse(instance.ToJsonString()).RootElement, options);
        return results.IsValid ? [] : [.. (results.Details ?? []).Where(r => r.Errors is { Count: > 0 }).SelectMany(r => r.Errors!.Values)];
    }
}
