using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;
using AgentCorex.Web.Api;
using AgentCorex.Web.Execution;
using Microsoft.AspNetCore.Mvc.Formatters;

namespace AgentCorex.Web.Errors;

/// <summary>
/// Reads JSON request bodies so the client learns which went wrong: a body that is not JSON, or not an object
/// (INVALID_REQUEST), or a field of the wrong JSON type (INVALID_ARGUMENTS naming the field and what it should be, as a
/// tool's arguments are named: "'timeout_ms' is not a valid integer"). MVC's own
/// formatter folds these into one message that names CLR types. A good body is read once, straight into its
/// type; only a bad one is parsed again, to tell which of those it is.
/// </summary>
internal sealed class JsonBodyInputFormatter : TextInputFormatter
{
    private const string NotJson = "The request body is not valid JSON";
    private const string NotAnObject = "The request body must be a JSON object";
    private const string NotUtf8 = NotJson + ": it is not UTF-8 text";
    private const string NameNotText = NotJson + ": a name in it is not Unicode text (an unpaired surrogate)";
    private static readonly string NestedTooDeep = $"The request body is nested deeper than {ApiJson.Options.MaxDepth} levels";

    private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

    public JsonBodyInputFormatter()
    {
        SupportedMediaTypes.Add("application/json");
        SupportedMediaTypes.Add("application/*+json");
        SupportedEncodings.Add(UTF8EncodingWithoutBOM);
    }

    /// <summary>
    /// UTF-8 whatever the Content-Type's charset says: JSON is UTF-8 (RFC 8259 defines no charset parameter for
    /// application/json, and one "has no effect on compliant recipients"), and MVC would otherwise answer a 415 to
    /// <c>application/json; charset=utf8</c>, a name .NET does not know, as though the body were not JSON at all.
    /// </summary>
    public override Task<InputFormatterResult> ReadRequestBodyAsync(InputFormatterContext context) =>
        ReadRequestBodyAsync(context, UTF8EncodingWithoutBOM);

    public override async Task<InputFormatterResult> ReadRequestBodyAsync(InputFormatterContext context, Encoding encoding)
    {
        if (IsCompressed(context.HttpContext.Request))
        {
            throw ApiErrors.ContentEncodingUnsupported(); // gzip bytes would otherwise be refused as JSON that is not valid
        }
        var body = context.HttpContext.Request.BodyReader;
        var read = await ReadToEndAsync(body, context.HttpContext.RequestAborted);
        try
        {
            return InputFormatterResult.Success(Deserialize(read.Buffer, context.ModelType));
        }
        catch (ApiException e) when (typeof(IExecutionRequest).IsAssignableFrom(context.ModelType))
        {
            throw e.ForToolIn(read.Buffer); // a field of the wrong type: the error still names the tool, if the body does
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);
        }
    }

    /// <summary>Whether the body has a content coding other than identity (gzip, br, ...), which the server does not undo.</summary>
    private static bool IsCompressed(HttpRequest request) =>
        request.Headers.ContentEncoding.SelectMany(value => (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            .Any(coding => !coding.Equals("identity", StringComparison.OrdinalIgnoreCase));

    /// <summary>The whole body, which the server's limit keeps small (see <see cref="RequestBodyLimit"/>).</summary>
    private static async Task<ReadResult> ReadToEndAsync(PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            if (read.IsCompleted || read.IsCanceled)
            {
                return read;
            }
            body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    private static object Deserialize(ReadOnlySequence<byte> body, Type type)
    {
        ReadOnlySpan<byte> json = body.IsSingleSegment ? body.FirstSpan : body.ToArray();
        if (json.StartsWith(Utf8ByteOrderMark))
        {
            json = json[Utf8ByteOrderMark.Length..]; // a UTF-8 byte order mark, which RFC 8259 lets a parser ignore
        }
        if (!Utf8.IsValid(json))
        {
            // JSON is UTF-8 (RFC 8259 8.1). The reader checks a string's bytes only when it is read as text, so bytes
            // that are not UTF-8 would get past it into a tool's arguments, or fail where a name is read.
            throw ApiErrors.InvalidRequest(NotUtf8);
        }
        try
        {
            return JsonSerializer.Deserialize(json, type, ApiJson.Options)
                ?? throw ApiErrors.InvalidRequest(NotAnObject);
        }
        catch (JsonException e)
        {
            throw Explain(json, type, e);
        }
    }

    private static ApiException Explain(ReadOnlySpan<byte> json, Type type, JsonException failure)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = ApiJson.Options.MaxDepth });
        try
        {
            if (!JsonDocument.TryParseValue(ref reader, out var document) || reader.Read())
            {
                return ApiErrors.InvalidRequest(NotJson);
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    return ApiErrors.InvalidRequest(NotAnObject);
                }
                if (FirstRepeatedName(document.RootElement, ApiJson.Options.GetTypeInfo(type), "") is { } repeated)
                {
                    // Arguments are named as the tool knows them: "message", not "arguments.message".
                    var name = ApiErrors.Echo(
                        repeated.StartsWith("arguments.", StringComparison.Ordinal) ? repeated["arguments.".Length..] : repeated, ApiErrors.MaxEchoedName);
                    return ApiErrors.InvalidArguments($"'{name}' is given more than once", name);
                }
                if (FirstUnknownName(document.RootElement, ApiJson.Options.GetTypeInfo(type), "") is ({ } given, var known))
                {
                    var unknown = ApiErrors.Echo(given, ApiErrors.MaxEchoedName);
                    return ApiErrors.InvalidArguments($"'{unknown}' is not a field of this request; its fields are {string.Join(", ", known)}", unknown);
                }
            }
        }
        catch (JsonException)
        {
            return ApiErrors.InvalidRequest(IsJsonNestedTooDeep(json) ? NestedTooDeep : NotJson);
        }
        catch (InvalidOperationException)
        {
            return ApiErrors.InvalidRequest(NameNotText); // "\ud800" as a name: JSON's grammar allows it, but it is no text to match
        }
        var field = JsonPaths.ToArgument(failure.Path);
        return ApiErrors.InvalidArguments($"'{field}' is not a valid {JsonPaths.Expected(ApiJson.Options.GetTypeInfo(type), field)}", field);
    }

    /// <summary>Whether the body is JSON that only its depth keeps from being read (the reader walks it without recursion).</summary>
    private static bool IsJsonNestedTooDeep(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue });
        try
        {
            while (reader.Read())
            {
            }
            return reader.BytesConsumed == json.Length || json[(int)reader.BytesConsumed..].Trim(" \t\r\n"u8).IsEmpty;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The path of the first field a request that refuses unknown fields does not have ("rate_limits.max_concurent"),
    /// with the names it does have; (null, []) if there is none. Names are matched as the reader matches them.
    /// </summary>
    private static (string? Path, IReadOnlyList<string> Known) FirstUnknownName(JsonElement element, JsonTypeInfo type, string path)
    {
        if (element.ValueKind != JsonValueKind.Object || type.Kind != JsonTypeInfoKind.Object)
        {
            return (null, []);
        }
        foreach (var property in element.EnumerateObject())
        {
            var at = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
            var field = type.Properties.FirstOrDefault(p => string.Equals(p.Name, property.Name,
                type.Options.PropertyNameCaseInsensitive ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal));
            if (field is null)
            {
                if (type.UnmappedMemberHandling == JsonUnmappedMemberHandling.Disallow)
                {
                    return (at, [.. type.Properties.Where(ApiJson.IsField).Select(p => p.Name)]);
                }
                continue;
            }
            var inner = Nullable.GetUnderlyingType(field.PropertyType) ?? field.PropertyType;
            if (FirstUnknownName(property.Value, type.Options.GetTypeInfo(inner), at) is ({ }, _) found)
            {
                return found;
            }
        }
        return (null, []);
    }

    /// <summary>
    /// The path of the first name given twice in one object ("arguments.target.port"), or null. Names are matched as the
    /// reader matches them: a request's own fields regardless of case ("Tool" is "tool" again, named as declared), the
    /// JSON a field holds as it is (a tool's arguments, case by case).
    /// </summary>
    private static string? FirstRepeatedName(JsonElement element, JsonTypeInfo? type, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var typed = type is { Kind: JsonTypeInfoKind.Object } ? type : null;
                var matching = typed?.Options.PropertyNameCaseInsensitive == true ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
                var fields = new HashSet<JsonPropertyInfo>();
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    var field = typed?.Properties.FirstOrDefault(p => string.Equals(p.Name, property.Name, matching));
                    var name = field?.Name ?? property.Name;
                    var at = path.Length == 0 ? name : $"{path}.{name}";
                    if (field is null ? !names.Add(name) : !fields.Add(field))
                    {
                        return at;
                    }
                    var inner = field is null ? null : typed!.Options.GetTypeInfo(Nullable.GetUnderlyingType(field.PropertyType) ?? field.PropertyType);
                    if (FirstRepeatedName(property.Value, inner, at) is { } repeated)
                    {
                        return repeated;
                    }
                }
                return null;
            case JsonValueKind.Array:
                var items = type?.ElementType is { } itemType ? type.Options.GetTypeInfo(itemType) : null;
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FirstRepeatedName(item, items, $"{path}[{index++}]") is { } repeated)
                    {
                        return repeated;
                    }
                }
                return null;
            default:
                return null;
        }
    }
}
