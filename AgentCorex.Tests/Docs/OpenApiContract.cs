using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using Json.Schema;

namespace AgentCorex.Tests.Docs;

/// <summary>
/// The served OpenAPI document as the judge of real answers: an answer is described when its status is listed
/// for the route, its headers are among that status's and include those the document marks required, and its body is
/// valid against that status's schema.
/// </summary>
public sealed class OpenApiContract(JsonObject document)
{
    /// <summary>The headers clients act on; any of them a response carries must be documented for its status.</summary>
    private static readonly string[] ClientHeaders =
        ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After", "Location", "WWW-Authenticate", "Idempotent-Replayed"];

    public static async Task<OpenApiContract> ReadAsync(AgentCorexApp app)
    {
        using var anonymous = app.CreateClient(apiKey: null);
        var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        return new OpenApiContract(JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    /// <summary>Fails, saying why, unless the document describes this answer of <paramref name="method"/> <paramref name="path"/>.</summary>
    public async Task AssertDescribesAsync(HttpResponseMessage response, string path, string method)
    {
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var route = $"{method.ToUpperInvariant()} {path}";
        var documented = document["paths"]?[path]?[method]?["responses"]?[status];
        Assert.That(documented, Is.Not.Null, $"{route} answered {status}, which its document does not list");

        var headers = documented!["headers"]?.AsObject().Select(h => h.Key).ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
        var answered = response.Headers.Concat(response.Content.Headers).Select(h => h.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var sent = ClientHeaders.Where(answered.Contains);
        Assert.That(sent.Where(h => !headers.Contains(h)), Is.Empty, $"{route} {status} sent headers its document does not list");
        var promised = documented["headers"]?.AsObject().Where(h => h.Value?["required"]?.GetValue<bool>() == true).Select(h => h.Key) ?? [];
        Assert.That(promised.Where(h => !answered.Contains(h)), Is.Empty, $"{route} {status} lacks headers its document marks required");
        foreach (var (name, declared) in documented["headers"]?.AsObject() ?? [])
        {
            if (declared?["schema"]?["enum"] is JsonArray allowed && response.Headers.TryGetValues(name, out var values))
            {
                Assert.That(values, Is.SubsetOf(allowed.Select(v => v!.GetValue<string>())), $"{route} {status}: {name} has a value its document does not list");
            }
        }

        var body = await response.Content.ReadAsStringAsync();
        if (body.Length == 0)
        {
            return;
        }
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        var content = documented["content"]?[mediaType ?? ""];
        Assert.That(content, Is.Not.Null, $"{route} {status} answered {mediaType}, which its document does not list");
        if (mediaType == "application/json")
        {
            var violations = Violations(JsonDocument.Parse(body).RootElement, content!["schema"]!);
            Assert.That(violations, Is.Empty, $"{route} {status} answered a body its schema refuses: {body}");
        }
    }

    /// <summary>
    /// The schema of the details of the error <paramref name="method"/> <paramref name="path"/> answers with
    /// <paramref name="status"/>, through the references of its envelope and its error; null if there is none.
    /// </summary>
    public JsonNode? ErrorDetails(string path, string method, string status)
    {
        var envelope = Referenced(document["paths"]?[path]?[method]?["responses"]?[status]?["content"]?["application/json"]?["schema"]);
        return Referenced(Referenced(envelope?["properties"]?["error"])?["properties"]?["details"]);
    }

    private JsonNode? Referenced(JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } reference
            ? document["components"]?["schemas"]?[reference[(reference.LastIndexOf('/') + 1)..]]
            : schema;

    /// <summary>Where the instance breaks the schema, as "instance location: error".</summary>
    public IReadOnlyList<string> Violations(JsonElement instance, JsonNode schema)
    {
        // OpenAPI 3.1's schemas are JSON Schema 2020-12; the components become the $defs of one schema so that its $refs resolve.
        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$defs"] = document.At("components.schemas")!.DeepClone(),
        };
        foreach (var (keyword, value) in schema.AsObject())
        {
            root[keyword] = value?.DeepClone();
        }
        var text = root.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal);
        var compiled = JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        var results = compiled.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return results.IsValid
            ? []
            : [.. (results.Details ?? []).Prepend(results)
                .Where(r => r.Errors is { Count: > 0 })
                .SelectMany(r => r.Errors!.Select(e => $"{r.InstanceLocation}: {e.Value} ({r.EvaluationPath})"))];
    }
}
