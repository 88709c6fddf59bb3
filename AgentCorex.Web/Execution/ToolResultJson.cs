using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentCorex.Web.Api;

namespace AgentCorex.Web.Execution;

/// <summary>
/// A tool's result, written as JSON once, as its run ends: a result JSON cannot express (NaN, a cycle, a type
/// System.Text.Json cannot write) is the run's failure then, not a broken response or a job left running. The
/// response and the ledger use these bytes as they are.
/// </summary>
[JsonConverter(typeof(Converter))]
public sealed class ToolResultJson
{
    private readonly byte[] utf8;

    private ToolResultJson(byte[] utf8) => this.utf8 = utf8;

    /// <summary>
    /// The result as JSON, or null with the reason it cannot be written: System.Text.Json's message, whose advice on its
    /// own settings (<c>JsonNumberHandling</c>, <c>ReferenceHandler</c>, a link) is for the tool's author, not its caller
    /// (<see cref="ForCaller"/>).
    /// </summary>
    public static ToolResultJson? TryWrite(object? result, out string? problem)
    {
        try
        {
            problem = null;
            return new ToolResultJson(JsonSerializer.SerializeToUtf8Bytes(result, result?.GetType() ?? typeof(object), ApiJson.Options));
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>The first sentence of a <see cref="TryWrite"/> problem: what is wrong, without the serializer's advice.</summary>
    public static string ForCaller(string problem) =>
        problem.IndexOf(". ", StringComparison.Ordinal) is var end and > 0 ? problem[..(end + 1)] : problem;

    public ReadOnlySpan<byte> Utf8 => utf8;

    public override string ToString() => Encoding.UTF8.GetString(utf8);

    private sealed class Converter : JsonConverter<ToolResultJson>
    {
        public override ToolResultJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            throw new NotSupportedException("A tool's result is written, never read.");

        // Written by System.Text.Json itself with the API's options: valid JSON, escaped the API's way.
        public override void Write(Utf8JsonWriter writer, ToolResultJson value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.utf8, skipInputValidation: true);
    }
}
