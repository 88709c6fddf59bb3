using System.Net;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Tools;

namespace AgentCorex.Tests.Tools;

public sealed class ToolsEndpointTests : ServerTest
{
    private HttpClient user = null!;

    [OneTimeSetUp]
    public async Task CreateUser() => user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);

    [OneTimeTearDown]
    public void DisposeUser() => user.Dispose();

    [Test]
    public async Task List_ShowsBuiltInAndPluginTools_ByName()
    {
        var body = await (await user.GetAsync("/tools")).ReadObjectAsync();

        var names = body["tools"]!.AsArray().Select(t => t.Str("name")).ToList();
        Assert.That(names, Is.SupersetOf(new[] { "echo", "wait", "fail", "test_nested", "test_ignore_token" }));
        Assert.That(names, Is.Ordered);
        Assert.That(body["tools"]!.AsArray().All(t => t!["description"] is not null && t["input_schema"] is JsonObject && t["output_schema"] is JsonObject));
    }

    [Test]
    public async Task Get_ReturnsToolNotFound_ForUnknownName()
    {
        var response = await user.GetAsync("/tools/deploy_to_aws");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("TOOL_NOT_FOUND"));
    }

    // A name of spaces or tabs is a name no tool has, not a missing one: the route matched, so it is the tool that is not found.
    [TestCase("/tools/%20")]
    [TestCase("/tools/%20%20")]
    [TestCase("/tools/%09")]
    [TestCase("/tools/%20/metrics")]
    public async Task Get_ReturnsToolNotFound_ForANameOfWhitespace(string url)
    {
        var response = await user.GetAsync(url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("TOOL_NOT_FOUND"));
    }

    [Test]
    public async Task EchoSchema_CarriesTheValidatorsBounds()
    {
        var tool = await (await user.GetAsync("/tools/echo")).ReadObjectAsync();

        var input = tool["input_schema"]!;
        Assert.Multiple(() =>
        {
            Assert.That(input.Str("type"), Is.EqualTo("object"));
            Assert.That(input["required"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "message" }));
            Assert.That(input.Str("properties.message.type"), Is.EqualTo("string"));
            Assert.That(input.At("properties.message.minLength")!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(input.Str("properties.message.pattern"), Is.EqualTo(ToolSchemas.NotBlankPattern), "NotEmpty refuses white space alone, and the schema says so");
            Assert.That(input.At("properties.message.maxLength")!.GetValue<int>(), Is.EqualTo(10_000));
            Assert.That(input["additionalProperties"]!.GetValue<bool>(), Is.False);
            Assert.That(tool.Str("output_schema.properties.message.type"), Is.EqualTo("string"));
        });
    }

    [Test]
    public async Task WaitSchema_HasRangesAndDefault()
    {
        var input = (await (await user.GetAsync("/tools/wait")).ReadObjectAsync())["input_schema"]!;

        Assert.Multiple(() =>
        {
            Assert.That(input["required"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "duration_ms" }));
            Assert.That(input.Str("properties.duration_ms.type"), Is.EqualTo("integer"));
            Assert.That(input.At("properties.duration_ms.minimum")!.GetValue<int>(), Is.Zero);
            Assert.That(input.At("properties.duration_ms.maximum")!.GetValue<int>(), Is.EqualTo(86_400_000));
            Assert.That(input.At("properties.steps.minimum")!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(input.At("properties.steps.maximum")!.GetValue<int>(), Is.EqualTo(1000));
            Assert.That(input.At("properties.steps.default")!.GetValue<int>(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task FailSchema_HasPatternAndDefaultCode()
    {
        var input = (await (await user.GetAsync("/tools/fail")).ReadObjectAsync())["input_schema"]!;

        Assert.That(input.Str("properties.code.pattern"), Is.EqualTo(@"^[A-Z][A-Z0-9_]*(?!\n)$"));
        Assert.That(input.Str("properties.code.default"), Is.EqualTo("TOOL_FAILED"));
        // Optional with its default, though its validator says not empty: only message is required.
        Assert.That(input["required"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EqualTo(new[] { "message" }));
    }

    [Test]
    public async Task NestedSchema_DescribesNestedObjectsAndLists()
    {
        var input = (await (await user.GetAsync("/tools/test_nested")).ReadObjectAsync())["input_schema"]!;

        Assert.Multiple(() =>
        {
            Assert.That(input.Str("properties.target.type"), Is.EqualTo("object"));
            Assert.That(input.Str("properties.target.properties.port.type"), Is.EqualTo("integer"));
            Assert.That(input.Str("properties.tags.type"), Is.EqualTo("array"));
            Assert.That(input.Str("properties.tags.items.type"), Is.EqualTo("string"));
            Assert.That(input.At("properties.note.maxLength")!.GetValue<int>(), Is.EqualTo(50));
            Assert.That(input["required"]!.AsArray().Select(n => n!.GetValue<string>()), Is.EquivalentTo(new[] { "target", "tags" }));
            // The nested object's own validator, and the rule for each item of the list, where they apply.
            Assert.That(input.At("properties.target.properties.host.minLength")!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(input.At("properties.target.properties.port.minimum")!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(input.At("properties.target.properties.port.maximum")!.GetValue<int>(), Is.EqualTo(65535));
            Assert.That(input.At("properties.target.required")!.AsArray().Select(n => n!.GetValue<string>()), Is.EquivalentTo(new[] { "host", "port" }));
            Assert.That(input.At("properties.tags.items.minLength")!.GetValue<int>(), Is.EqualTo(1));
            Assert.That(input.At("properties.tags.items.maxLength")!.GetValue<int>(), Is.EqualTo(20));
            Assert.That(input.At("properties.tags.maxLength"), Is.Null, "an item's bound is not the list's");
        });
    }
}
