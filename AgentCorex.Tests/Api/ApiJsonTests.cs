using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Web.Api;

namespace AgentCorex.Tests.Api;

public sealed class ApiJsonTests
{
    [Test]
    public void AJsonIgnoredProperty_IsNoField_OfAnyType_AndIsStillNotWritten()
    {
        var fields = ApiJson.Options.GetTypeInfo(typeof(Strict)).Properties.Select(p => p.Name);
        var written = JsonSerializer.Serialize(new Strict { Given = 1, Bookkeeping = true }, ApiJson.Options);

        Assert.That(fields, Is.EqualTo(new[] { "given", "written_always", "written_unless_null" }), "ignored only when always ignored");
        Assert.That(() => JsonSerializer.Deserialize<Strict>("""{"given":1,"bookkeeping":"x"}""", ApiJson.Options),
            Throws.InstanceOf<JsonException>().With.Message.Contains("bookkeeping"), "refused as a field the type does not have");
        Assert.That(written, Is.EqualTo("""{"given":1,"written_always":null}"""));
    }

    [Test]
    public void APositionalRecordsJsonIgnoredParameter_IsNoField_AndTheOthersStillBind()
    {
        var fields = ApiJson.Options.GetTypeInfo(typeof(Positional)).Properties.Where(ApiJson.IsField).Select(p => p.Name);
        var read = JsonSerializer.Deserialize<Positional>("""{"given":1,"label":"a"}""", ApiJson.Options);

        Assert.That(fields, Is.EqualTo(new[] { "given", "label" }));
        Assert.That(read, Is.EqualTo(new Positional(1, "a", Bookkeeping: false)), "the ignored parameter takes its default, not required");
        Assert.That(() => JsonSerializer.Deserialize<Positional>("""{"given":1,"label":"a","bookkeeping":true}""", ApiJson.Options),
            Throws.InstanceOf<JsonException>().With.Message.Contains("'bookkeeping'"), "refused as a field the type does not have");
        Assert.That(() => JsonSerializer.Deserialize<Positional>("""{"given":1,"label":"a","\ud800bookkeeping":true}""", ApiJson.Options),
            Throws.InstanceOf<JsonException>(), "nor can the name it is kept under be spelt");
        Assert.That(JsonSerializer.Serialize(new Positional(1, "a", Bookkeeping: true), ApiJson.Options), Is.EqualTo("""{"given":1,"label":"a"}"""));
    }

    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    private sealed record Positional(int Given, string Label, [property: JsonIgnore] bool Bookkeeping);

    [JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
    private sealed record Strict
    {
        public int? Given { get; init; }

        [JsonIgnore]
        public bool Bookkeeping { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
        public int? WrittenAlways { get; init; }

        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? WrittenUnlessNull { get; init; }
    }
}
