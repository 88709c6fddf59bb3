using System.Globalization;
using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Docs;

public sealed class ApiDocsTests : ServerTest
{
    private JsonObject document = null!;

    [OneTimeSetUp]
    public async Task ReadTheDocument()
    {
        using var anonymous = App.CreateClient(apiKey: null);
        var response = await anonymous.GetAsync("/openapi/v1.json");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the document needs no key");
        document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private JsonObject Operation(string path, string method) =>
        document["paths"]?[path]?[method]?.AsObject() ?? throw new AssertionException($"{method} {path} is not in the document");

    private IEnumerable<string> Statuses(string path, string method) =>
        Operation(path, method)["responses"]!.AsObject().Select(r => r.Key);

    [TestCase("/execute_tool", "post")]
    [TestCase("/jobs/submit", "post")]
    [TestCase("/jobs/{job_id}", "get")]
    [TestCase("/jobs/{job_id}", "delete")]
    [TestCase("/jobs", "get")]
    [TestCase("/jobs/{job_id}/stream", "get")]
    [TestCase("/tools", "get")]
    [TestCase("/tools/{name}", "get")]
    [TestCase("/tools/{name}/metrics", "get")]
    [TestCase("/api_keys", "post")]
    [TestCase("/api_keys", "get")]
    [TestCase("/api_keys/{key_id}", "get")]
    [TestCase("/api_keys/{key_id}", "delete")]
    [TestCase("/webhooks", "post")]
    [TestCase("/webhooks", "get")]
    [TestCase("/webhooks/{webhook_id}", "get")]
    [TestCase("/webhooks/{webhook_id}", "delete")]
    [TestCase("/webhooks/{webhook_id}/deliveries", "get")]
    public void EveryRoute_IsDocumented_WithTheBearerScheme_AndTheErrorShape(string path, string method)
    {
        var operation = Operation(path, method);

        Assert.Multiple(() =>
        {
            Assert.That(operation["security"]?.AsArray().Select(s => s!.AsObject().Select(p => p.Key).Single()), Does.Contain("bearer"));
            Assert.That(Statuses(path, method), Does.Contain("401"));
            var unauthorized = operation.At("responses.401")!["content"]!["application/json"]!["schema"]!["$ref"]!.GetValue<string>();
            Assert.That(unauthorized, Does.EndWith("/ErrorEnvelope"));
        });
    }

    [Test]
    public void ErrorStatuses_FollowWhatEachRouteCanAnswer()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Statuses("/execute_tool", "post"), Is.SupersetOf(new[] { "200", "202", "400", "401", "403", "404", "408", "413", "415", "429", "500", "503", "504" }));
            Assert.That(Statuses("/jobs/submit", "post"), Is.SupersetOf(new[] { "202", "400", "401", "404", "408", "413", "415", "429", "503" }));
            Assert.That(Statuses("/jobs/{job_id}", "get"), Is.SupersetOf(new[] { "200", "401", "404", "429" }));
            Assert.That(Statuses("/jobs/{job_id}", "delete"), Is.SupersetOf(new[] { "200", "400", "401", "404", "429" }));
            Assert.That(Statuses("/jobs/{job_id}/stream", "get"), Is.SupersetOf(new[] { "200", "401", "404", "429", "503" }));
            Assert.That(Statuses("/webhooks", "post"), Is.SupersetOf(new[] { "201", "400", "401", "408", "409", "413", "415", "429" }));
            Assert.That(Statuses("/api_keys", "post"), Is.SupersetOf(new[] { "201", "400", "401", "403" }));
            Assert.That(Statuses("/api_keys", "get"), Is.SupersetOf(new[] { "200", "400", "401", "403" }));
            Assert.That(Statuses("/api_keys/{key_id}", "get"), Is.SupersetOf(new[] { "200", "401", "403", "404" }));
            Assert.That(Statuses("/webhooks/{webhook_id}", "get"), Is.SupersetOf(new[] { "200", "401", "404", "429" }));
            Assert.That(Statuses("/api_keys/{key_id}", "patch"), Is.SupersetOf(new[] { "200", "400", "401", "403", "404", "409" }));
            Assert.That(Statuses("/tools/{name}", "get"), Is.SupersetOf(new[] { "200", "401", "404", "429" }));
            Assert.That(Statuses("/jobs", "get"), Does.Not.Contain("403"), "any key lists its jobs");
            Assert.That(Statuses("/api_keys", "get"), Does.Not.Contain("429"), "an admin key has no limit outside the execution endpoints");
        });
    }

    [TestCase("/execute_tool", "post", new[] { "200", "202" })]
    [TestCase("/jobs/submit", "post", new[] { "202" })]
    [TestCase("/webhooks", "post", new[] { "201" })]
    [TestCase("/api_keys", "post", new[] { "201" })]
    [TestCase("/webhooks", "get", new[] { "200" })]
    [TestCase("/webhooks/{webhook_id}", "get", new[] { "200" })]
    [TestCase("/api_keys", "get", new[] { "200" })]
    [TestCase("/api_keys/{key_id}", "get", new[] { "200" })]
    [TestCase("/jobs/{job_id}", "delete", new[] { "200" })]
    public void SuccessStatuses_AreTheOnesTheActionAnswers(string path, string method, string[] successes)
    {
        Assert.That(Statuses(path, method).Where(s => s.StartsWith('2')), Is.EquivalentTo(successes));
    }

    [TestCase("/execute_tool")]
    [TestCase("/jobs/submit")]
    public void ExecutionEndpoints_DocumentTheRateLimitHeaders_AndRetryAfterOnTooManyRequests(string path)
    {
        var responses = Operation(path, "post")["responses"]!.AsObject();

        Assert.Multiple(() =>
        {
            // A request refused before it is counted (no valid key, or not an admin key) carries none.
            foreach (var (status, response) in responses.Where(r => r.Key is not ("401" or "403")))
            {
                Assert.That(Headers(response), Is.SupersetOf(new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset" }), status);
            }
            Assert.That(Headers(responses["429"]), Does.Contain("Retry-After"));
            Assert.That(Headers(responses["202"]), Does.Contain("Location"));
            var replayed = responses["202"]!["headers"]!["Idempotent-Replayed"]!;
            Assert.That((replayed["required"]?.GetValue<bool>() ?? false, replayed.At("schema.enum")!.ToJsonString()), Is.EqualTo((false, "[\"true\"]")),
                "a replay's header, never on a new job, with its one value");
            Assert.That(responses["429"]!["description"]!.GetValue<string>(), Does.Contain("RATE_LIMIT_EXCEEDED"));
            Assert.That(responses["503"]!["description"]!.GetValue<string>(), Does.Contain("SERVER_SHUTTING_DOWN"));
        });
    }

    [TestCase("/execute_tool")]
    [TestCase("/jobs/submit")]
    public void ExecutionEndpoints_PromiseNoHeaderOnServiceUnavailable_ThatARefusalBeforeTheCountLacks(string path)
    {
        var unavailable = Operation(path, "post")["responses"]!["503"]!["headers"]!.AsObject();

        Assert.Multiple(() =>
        {
            // A stopping node refuses before counting, so its SERVER_SHUTTING_DOWN has no window to tell, and no Retry-After.
            foreach (var (name, header) in unavailable)
            {
                Assert.That(header!["required"]?.GetValue<bool>() ?? false, Is.False, name);
                Assert.That(header.Str("description"), Does.Contain("SERVER_SHUTTING_DOWN"), name);
            }
            Assert.That(unavailable.Select(h => h.Key), Is.EquivalentTo(new[] { "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After" }));
            Assert.That(unavailable["X-RateLimit-Limit"].Str("description"), Does.Contain("not counted"));
        });
    }

    [Test]
    public void HeadersEveryAnswerOfTheirStatusCarries_AreRequired()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Operation("/jobs/submit", "post").At("responses.202.headers.Location.required")?.GetValue<bool>(), Is.True);
            Assert.That(Operation("/jobs/submit", "post").At("responses.429.headers.Retry-After.required")?.GetValue<bool>(), Is.True);
            Assert.That(Operation("/jobs", "get").At("responses.503.headers.Retry-After.required")?.GetValue<bool>(), Is.True);
            Assert.That(Operation("/jobs", "get").At("responses.401.headers.WWW-Authenticate.required")?.GetValue<bool>(), Is.True);
            Assert.That(Operation("/jobs/submit", "post").At("responses.202.headers.X-RateLimit-Limit.required")?.GetValue<bool>() ?? false, Is.False, "a key without a limit gets none");
        });
    }

    /// <summary>A 201 says where what it created is: a route of the document that reads it, as its list shows it.</summary>
    [TestCase("/api_keys", "/api_keys/{key_id}", "api_keys")]
    [TestCase("/webhooks", "/webhooks/{webhook_id}", "webhooks")]
    public void Created_DocumentsALocation_ThatReadsTheItemAsItsListShowsIt(string path, string item, string listField)
    {
        var location = Operation(path, "post").At("responses.201.headers.Location");
        var read = Operation(item, "get").At("responses.200.content")?["application/json"]?["schema"]?["$ref"]?.GetValue<string>();
        var listSchema = Operation(path, "get").At("responses.200.content")?["application/json"]?["schema"]?["$ref"]?.GetValue<string>()?.Split('/')[^1];
        var listed = document.At($"components.schemas.{listSchema}.properties.{listField}.items")?["$ref"]?.GetValue<string>();

        Assert.Multiple(() =>
        {
            Assert.That(location?["required"]?.GetValue<bool>(), Is.True, location?.ToJsonString());
            Assert.That(location.Str("description"), Does.EndWith(item));
            Assert.That(read, Is.Not.Null.And.EqualTo(listed));
        });
    }

    [Test]
    public void EveryOtherRoute_ThatAnyKeyMayCall_DocumentsRetryAfterOnTooManyRequests()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Headers(Operation("/jobs", "get")["responses"]!["429"]), Does.Contain("Retry-After"));
            Assert.That(Headers(Operation("/jobs", "get")["responses"]!["200"]), Does.Not.Contain("X-RateLimit-Limit"), "only the execution endpoints count");
            Assert.That(Headers(Operation("/webhooks", "get")["responses"]!["401"]), Does.Contain("WWW-Authenticate"));
        });
    }

    [Test]
    public void Head_IsNotListedApart_ButSaidOnce_ForEveryGet()
    {
        var methods = document["paths"]!.AsObject().SelectMany(path => path.Value!.AsObject().Select(op => op.Key));

        Assert.That(methods, Does.Not.Contain("head"));
        Assert.That(document.Str("info.description"), Does.Contain("GET route also answers HEAD"));
    }

    [Test]
    public void TheRoutesThatAreNotControllers_AreListedToo()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Operation("/health/live", "get")["security"]?.AsArray(), Is.Not.Null.And.Empty, "no key needed, said so");
            Assert.That(Operation("/health/ready", "get")["security"]?.AsArray(), Is.Not.Null.And.Empty, "no key needed, said so");
            Assert.That(Operation("/health/ready", "get").At("responses.503.content")?["application/json"]?["schema"]?["$ref"]?.GetValue<string>(), Does.EndWith("/HealthResponse"));
            Assert.That(Operation("/metrics", "get").At("responses.200.content")!.AsObject().Select(c => c.Key), Is.EqualTo(new[] { "text/plain" }));
            Assert.That(Operation("/metrics", "get")["security"]!.AsArray().Select(s => s!.AsObject().Single().Key), Is.EqualTo(new[] { "bearer" }));
        });
    }

    /// <summary>A generated client names its calls by these: a stable contract, each changed only as a breaking change.</summary>
    [Test]
    public void EveryOperation_HasItsStableOperationId_AndASummary()
    {
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(op => (Route: $"{op.Key} {path.Key}", Operation: op.Value!)))
            .ToList();

        Assert.Multiple(() =>
        {
            Assert.That(operations.ToDictionary(o => o.Route, o => o.Operation.Str("operationId")), Is.EquivalentTo(new Dictionary<string, string?>
            {
                ["post /execute_tool"] = "executeTool",
                ["post /jobs/submit"] = "submitJob",
                ["get /jobs/{job_id}"] = "getJob",
                ["delete /jobs/{job_id}"] = "cancelJob",
                ["get /jobs"] = "listJobs",
                ["get /jobs/{job_id}/stream"] = "streamJob",
                ["get /tools"] = "listTools",
                ["get /tools/{name}"] = "getTool",
                ["get /tools/{name}/metrics"] = "getToolMetrics",
                ["post /api_keys"] = "createApiKey",
                ["get /api_keys"] = "listApiKeys",
                ["get /api_keys/{key_id}"] = "getApiKey",
                ["delete /api_keys/{key_id}"] = "revokeApiKey",
                ["patch /api_keys/{key_id}"] = "updateApiKey",
                ["post /webhooks"] = "createWebhook",
                ["get /webhooks"] = "listWebhooks",
                ["get /webhooks/{webhook_id}"] = "getWebhook",
                ["delete /webhooks/{webhook_id}"] = "deleteWebhook",
                ["get /webhooks/{webhook_id}/deliveries"] = "listWebhookDeliveries",
                ["get /health/live"] = "checkLive",
                ["get /health/ready"] = "checkReady",
                ["get /metrics"] = "getMetrics",
            }));
            foreach (var (route, operation) in operations)
            {
                Assert.That(operation.Str("summary"), Is.Not.Null.And.Not.Empty, route);
            }
        });
    }

    /// <summary>
    /// A bare {"type":"object"} is read by generators as an object with no fields (openapi-typescript's
    /// Record&lt;string, never&gt;), to which no typed client can pass an argument: an object whose fields the document
    /// does not name says it takes any.
    /// </summary>
    [TestCase("ExecuteToolRequest.properties.arguments")]
    [TestCase("SubmitJobRequest.properties.arguments")]
    [TestCase("ApiError.properties.details")]
    [TestCase("JsonObject")]
    public void AnObjectWhoseFieldsAreNotNamed_TakesAnyField(string schema)
    {
        var declared = document.At($"components.schemas.{schema}");

        Assert.That(declared?["additionalProperties"]?.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Object), declared?.ToJsonString());
    }

    [Test]
    public void NoObject_IsLeftWithoutFieldsOrAdditionalProperties()
    {
        static IEnumerable<(string Where, JsonObject Schema)> Within(string where, JsonNode? node) => node switch
        {
            JsonObject schema => schema.SelectMany(p => Within($"{where}.{p.Key}", p.Value)).Prepend((where, schema)),
            JsonArray items => items.SelectMany((item, i) => Within($"{where}[{i}]", item)),
            _ => [],
        };
        var closed = Within("components.schemas", document.At("components.schemas"))
            .Where(s => s.Schema["type"]?.ToJsonString().Contains("object") == true && s.Schema["properties"] is null && s.Schema["additionalProperties"] is null)
            .Select(s => s.Where);

        Assert.That(closed, Is.Empty);
    }

    /// <summary>A field the server fills from a fixed set is an enum of it, so that a client can narrow by it (a 200 from a 202).</summary>
    [TestCase("ExecuteToolResponse.properties.status", new[] { "success" })]
    [TestCase("SubmittedJobResponse.properties.status", new[] { "queued" })]
    [TestCase("ErrorEnvelope.properties.status", new[] { "error", "timeout" })]
    [TestCase("LimitErrorEnvelope.properties.status", new[] { "error" })]
    [TestCase("LimitError.properties.code", new[] { "RATE_LIMIT_EXCEEDED", "WEBHOOK_LIMIT_REACHED" })]
    [TestCase("ApiKeyResponse.properties.plan", new[] { "free", "pro", "enterprise" })]
    [TestCase("CreatedApiKeyResponse.properties.plan", new[] { "free", "pro", "enterprise" })]
    [TestCase("WebhookResponse.properties.events.items", new[] { "job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout" })]
    [TestCase("CreatedWebhookResponse.properties.events.items", new[] { "job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout" })]
    [TestCase("DeliveryResponse.properties.event", new[] { "job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout" })]
    [TestCase("DeliveryResponse.properties.status", new[] { "pending", "delivered", "failed" })]
    public void AnAnswersFieldWithFixedValues_IsAnEnumOfThem(string field, string[] values)
    {
        var declared = document.At($"components.schemas.{field}");

        Assert.That(declared?["enum"]?.AsArray().Select(v => v?.GetValue<string>()), Is.EqualTo(values), declared?.ToJsonString());
    }

    /// <summary>
    /// The document publishes the list the typed errors take their codes from; that the server answers no other is
    /// EveryBareErrorStatus_IsAnsweredWithACodeTheDocumentLists_AndKeepsItsStatus's, and each error's own tests'.
    /// </summary>
    [Test]
    public void AnErrorsCode_IsAnEnumOfErrorCodesAll_TheContractsCodesAmongThem()
    {
        var codes = document.At("components.schemas.ApiError.properties.code")?["enum"]?.AsArray().Select(v => v!.GetValue<string>()).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(codes, Is.EqualTo(AgentCorex.Web.Errors.ErrorCodes.All));
            Assert.That(codes, Is.SupersetOf(new[] { "TOOL_NOT_FOUND", "INVALID_ARGUMENTS", "EXECUTION_ERROR", "EXECUTION_TIMEOUT", "RATE_LIMIT_EXCEEDED" }), "the contract's");
            Assert.That(codes, Is.SupersetOf(new[] { "UNAUTHORIZED", "NOT_FOUND", "METHOD_NOT_ALLOWED", "DATABASE_UNAVAILABLE", "SERVER_SHUTTING_DOWN", "JOB_NOT_FOUND", "WEBHOOK_LIMIT_REACHED" }));
        });
    }

    /// <summary>ErrorCodes.All is written out, in the order of its constants: one added there and not to it would go unpublished.</summary>
    [Test]
    public void ErrorCodesAll_ListsEachOfItsCodesOnce()
    {
        var declared = typeof(AgentCorex.Web.Errors.ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.IsLiteral)
            .Select(field => (string)field.GetRawConstantValue()!);

        Assert.That(AgentCorex.Web.Errors.ErrorCodes.All, Is.EquivalentTo(declared), "each constant once");
    }

    /// <summary>
    /// A status that no error of the server's own carries (a route, a library, setting it bare) is answered in the error
    /// shape too, with a code the document lists (it was "HTTP_" and the status), its status kept.
    /// </summary>
    [Test]
    public void EveryBareErrorStatus_IsAnsweredWithACodeTheDocumentLists_AndKeepsItsStatus()
    {
        var codes = document.At("components.schemas.ApiError.properties.code")?["enum"]?.AsArray().Select(v => v!.GetValue<string>()).ToList();

        Assert.Multiple(() =>
        {
            foreach (var status in Enumerable.Range(400, 200))
            {
                var answered = AgentCorex.Web.Errors.ApiErrors.ForStatusCode(status);
                Assert.That(codes, Does.Contain(answered.Error.Code), $"{status}'s code");
                Assert.That(answered.StatusCode, Is.EqualTo(status), $"{status}'s status");
            }
        });
    }

    /// <summary>
    /// The generator's default named the address the request came to, its Host header included (a Host of
    /// evil.example:8443 became the API's server), with a trailing slash, and http:// behind a TLS proxy.
    /// </summary>
    [Test]
    public async Task TheServer_IsRelative_WhateverHostTheDocumentWasAskedOf()
    {
        using var anonymous = App.CreateClient(apiKey: null);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/openapi/v1.json");
        request.Headers.Host = "evil.example:8443";

        var asked = JsonNode.Parse(await (await anonymous.SendAsync(request)).Content.ReadAsStringAsync());

        Assert.That(asked?["servers"]?.AsArray().Select(s => s.Str("url")), Is.EqualTo(new[] { "/" }), asked?["servers"]?.ToJsonString());
    }

    [Test]
    public void TheStreamsAccessToken_IsAQueryParameter_ThatTypedClientsCanPass()
    {
        var parameter = Operation("/jobs/{job_id}/stream", "get")["parameters"]!.AsArray()
            .SingleOrDefault(p => p.Str("in") == "query" && p.Str("name") == "access_token");

        Assert.That((parameter.Str("schema.type"), parameter?["required"]?.GetValue<bool>() ?? false), Is.EqualTo(("string", false)), parameter?.ToJsonString());
    }

    [Test]
    public void Responses_AreJson_ButTheStreamsEvents_AndTheMetrics()
    {
        var contentTypes = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().SelectMany(op => op.Value!["responses"]!.AsObject()
                .Select(r => (Answer: $"{op.Key} {path.Key} {r.Key}", Types: r.Value!["content"]?.AsObject().Select(c => c.Key).ToList() ?? []))))
            .Where(a => a.Types.Count > 0)
            .ToDictionary(a => a.Answer, a => string.Join(",", a.Types));

        Assert.That(contentTypes.Where(a => a.Value != "application/json").Select(a => a.Key), Is.EquivalentTo(new[] { "get /jobs/{job_id}/stream 200", "get /metrics 200" }));
    }

    private static IEnumerable<string> Headers(JsonNode? response) =>
        response?["headers"]?.AsObject().Select(h => h.Key) ?? [];

    [TestCase("ExecuteToolRequest", new[] { "tool", "arguments" })]
    [TestCase("SubmitJobRequest", new[] { "tool", "arguments" })]
    [TestCase("CreateWebhookRequest", new[] { "url", "events" })]
    [TestCase("CreateApiKeyRequest", new[] { "name", "plan" })]
    [TestCase("UpdateApiKeyRequest", new string[] { })]
    [TestCase("KeyRateLimitsRequest", new string[] { })]
    public void RequestBodies_RequireOnlyTheFieldsTheValidatorsRequire(string schema, string[] required)
    {
        Assert.That(Required(schema), Is.EquivalentTo(required));
    }

    [TestCase("CreateApiKeyRequest")]
    [TestCase("UpdateApiKeyRequest")]
    [TestCase("KeyRateLimitsRequest")]
    [TestCase("CreateWebhookRequest")]
    public void SettingsRequests_SayTheyTakeNoOtherFields(string schema)
    {
        Assert.That(document.At($"components.schemas.{schema}.additionalProperties")?.GetValue<bool>(), Is.False);
    }

    [TestCase("WebhookResponse", new[] { "webhook_id", "url", "events", "created_at" })]
    [TestCase("CreatedWebhookResponse", new[] { "webhook_id", "url", "events", "secret", "created_at" })]
    [TestCase("DeliveryResponse", new[] { "delivery_id", "event", "job_id", "status", "created_at", "attempts" })]
    [TestCase("AttemptResponse", new[] { "attempt", "duration_ms", "attempted_at" })]
    [TestCase("ApiKeyResponse", new[] { "key_id", "name", "plan", "admin", "created_at", "rate_limits" })]
    [TestCase("ApiKeyListResponse", new[] { "api_keys", "pagination" })]
    [TestCase("Pagination", new[] { "limit", "offset", "total" })]
    [TestCase("KeyRateLimitsResponse", new string[] { })]
    [TestCase("JobResponse", new[] { "job_id", "status", "tool", "created_at" })]
    [TestCase("JobSummaryResponse", new[] { "job_id", "tool", "status", "created_at" })]
    [TestCase("JobError", new[] { "code", "message", "details" })]
    [TestCase("ErrorEnvelope", new[] { "error" })]
    [TestCase("LimitErrorEnvelope", new[] { "error" })]
    [TestCase("LimitError", new[] { "code", "message", "details" })]
    [TestCase("ToolMetricsResponse", new[] { "tool", "total_jobs", "completed", "failed", "timeout", "canceled", "success_rate", "failure_rate", "avg_execution_time_ms", "p95_execution_time_ms" })]
    public void Responses_RequireOnlyTheFieldsAlwaysSent_ForNullsAreLeftOut(string schema, string[] required)
    {
        Assert.That(Required(schema), Is.EquivalentTo(required));
    }

    [TestCase("CreateApiKeyRequest", "name", "minLength", 1)]
    [TestCase("CreateApiKeyRequest", "name", "maxLength", 100)]
    [TestCase("UpdateApiKeyRequest", "name", "maxLength", 100)]
    [TestCase("KeyRateLimitsRequest", "requests_per_minute", "maximum", 1_000_000)]
    [TestCase("KeyRateLimitsRequest", "max_concurrent", "minimum", 1)]
    [TestCase("SubmitJobRequest", "timeout_ms", "maximum", 86_400_000)]
    [TestCase("CreateWebhookRequest", "url", "maxLength", 2048)]
    public void RequestFields_CarryTheirValidatorsBounds(string schema, string field, string keyword, int bound)
    {
        var value = document.At($"components.schemas.{schema}.properties.{field}")?[keyword];

        Assert.That(value?.GetValue<int>(), Is.EqualTo(bound), document.At($"components.schemas.{schema}.properties.{field}")?.ToJsonString());
    }

    [TestCase("KeyRateLimitsRequest", "requests_per_minute")]
    [TestCase("KeyRateLimitsRequest", "max_concurrent")]
    [TestCase("KeyRateLimitsResponse", "requests_per_minute")]
    [TestCase("KeyRateLimitsResponse", "max_concurrent")]
    public void AKeysLimit_IsNullable_AndSaysThatNullIsNoLimit(string schema, string field)
    {
        var declared = document.At($"components.schemas.{schema}.properties.{field}");

        Assert.That(declared?["type"]?.ToJsonString(), Does.Contain("null"), declared?.ToJsonString());
        Assert.That(declared.Str("description"), Does.Contain("no limit"), declared?.ToJsonString());
    }

    [Test]
    public void AKeysName_HasAPattern_ThatRefusesExactlyTheControlFormatAndSeparatorCharacters_AndBlankNames()
    {
        var pattern = document.Str("components.schemas.CreateApiKeyRequest.properties.name.pattern");
        var characters = Enumerable.Range(0, char.MaxValue + 1).Select(c => (char)c).Where(c => !char.IsSurrogate(c)).ToList();
        UnicodeCategory[] refused = [UnicodeCategory.Control, UnicodeCategory.Format, UnicodeCategory.LineSeparator, UnicodeCategory.ParagraphSeparator];

        Assert.That(pattern, Is.Not.Null);
        char[] joiners = ['\u200C', '\u200D']; // format characters of ordinary text (Persian words, emoji sequences)
        Assert.That(characters.Where(c => !Regex.IsMatch($"a{c}b", pattern!)),
            Is.EqualTo(characters.Where(c => refused.Contains(char.GetUnicodeCategory(c)) && !joiners.Contains(c))));
        Assert.That(Regex.IsMatch("\u200C\u200D", pattern!), Is.False, "nor one of joiners alone");
        Assert.That(Regex.IsMatch("name\n", pattern!), Is.False, "nor a final newline");
        Assert.That(characters.Where(c => char.IsWhiteSpace(c) && Regex.IsMatch($" {c} ", pattern!)), Is.Empty, "a name of white space is blank");
        Assert.That(Regex.IsMatch("\u3164\u00A0\uFE0F\u115F", pattern!), Is.False, "nor one of Hangul fillers and variation selectors");
        Assert.That(Regex.IsMatch("\u3164 x\uFE0F", pattern!), Is.True, "one visible character is enough");
    }

    [TestCase("JobResponse", new[] { "queued", "running", "completed", "failed", "canceled", "timeout" })]
    [TestCase("JobSummaryResponse", new[] { "queued", "running", "completed", "failed", "canceled", "timeout" })]
    [TestCase("SubmittedJobResponse", new[] { "queued" })]
    [TestCase("CanceledJobResponse", new[] { "canceled" })]
    public void AJobsStatus_IsAnEnumOfTheContractsValues(string schema, string[] values)
    {
        var status = document.At($"components.schemas.{schema}.properties.status");

        Assert.That(status?["enum"]?.AsArray().Select(v => v!.GetValue<string>()), Is.EqualTo(values), status?.ToJsonString());
    }

    private IEnumerable<string> Required(string schema) =>
        document.At($"components.schemas.{schema}")?["required"]?.AsArray().Select(r => r!.GetValue<string>()) ?? [];

    [TestCase("/jobs", "get", new[] { "limit", "offset", "status", "tool" })]
    [TestCase("/webhooks/{webhook_id}/deliveries", "get", new[] { "limit", "offset" })]
    [TestCase("/api_keys", "get", new[] { "limit", "offset" })]
    [TestCase("/jobs/{job_id}", "delete", new[] { "force" })]
    public void QueryParameters_HaveTheContractsSnakeCaseNames(string path, string method, string[] names)
    {
        var query = Operation(path, method)["parameters"]!.AsArray().Where(p => p!.Str("in") == "query").Select(p => p.Str("name"));

        Assert.That(query, Is.EquivalentTo(names));
    }

    [Test]
    public void PathParameters_HaveTheContractsSnakeCaseNames()
    {
        var paths = document["paths"]!.AsObject().Select(p => p.Key).ToList();
        var inPaths = paths.SelectMany(p => System.Text.RegularExpressions.Regex.Matches(p, "{([^}]+)}").Select(m => m.Groups[1].Value)).Distinct();
        var declared = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().SelectMany(op => op.Value!["parameters"]?.AsArray() ?? []))
            .Where(p => p.Str("in") == "path").Select(p => p.Str("name")).Distinct();

        Assert.Multiple(() =>
        {
            Assert.That(paths, Is.SupersetOf(new[] { "/jobs/{job_id}", "/jobs/{job_id}/stream", "/api_keys/{key_id}", "/webhooks/{webhook_id}", "/webhooks/{webhook_id}/deliveries" }));
            Assert.That(inPaths, Is.EquivalentTo(new[] { "job_id", "key_id", "webhook_id", "name" }));
            Assert.That(declared, Is.EquivalentTo(inPaths));
        });
    }

    [TestCase("/jobs", "limit", 1, 100, 20)]
    [TestCase("/jobs", "offset", 0, null, 0)]
    [TestCase("/webhooks/{webhook_id}/deliveries", "limit", 1, 100, 20)]
    [TestCase("/webhooks/{webhook_id}/deliveries", "offset", 0, null, 0)]
    [TestCase("/api_keys", "limit", 1, 100, 20)]
    [TestCase("/api_keys", "offset", 0, null, 0)]
    public void PagingParameters_DocumentTheirBoundsAndDefault(string path, string name, int minimum, int? maximum, int @default)
    {
        var schema = Operation(path, "get")["parameters"]!.AsArray().Single(p => p.Str("in") == "query" && p.Str("name") == name)!["schema"];

        Assert.Multiple(() =>
        {
            Assert.That(schema!["minimum"]?.GetValue<int>(), Is.EqualTo(minimum));
            Assert.That(schema["maximum"]?.GetValue<int>(), Is.EqualTo(maximum));
            Assert.That(schema["default"]?.GetValue<int>(), Is.EqualTo(@default));
        });
    }

    [Test]
    public void ListFilters_DocumentWhatTheyTake()
    {
        var parameters = Operation("/jobs", "get")["parameters"]!.AsArray();
        var status = parameters.Single(p => p.Str("name") == "status");
        var tool = parameters.Single(p => p.Str("name") == "tool");

        Assert.That(status.Str("description"), Does.Contain("queued").And.Contain("timeout"));
        Assert.That(tool!["schema"]!["maxLength"]?.GetValue<int>(), Is.EqualTo(64));
    }

    [Test]
    public async Task ListStatus_IsAnEnumOfExactlyTheValuesTheServerAccepts()
    {
        var status = Operation("/jobs", "get")["parameters"]!.AsArray().Single(p => p.Str("name") == "status")!["schema"];
        var values = status?["enum"]?.AsArray().Select(v => v!.GetValue<string>()).ToList() ?? [];

        Assert.That(values, Is.EqualTo(new[] { "all", "queued", "running", "completed", "failed", "canceled", "timeout" }), status?.ToJsonString());
        foreach (var value in values)
        {
            Assert.That((await Admin.GetAsync($"/jobs?status={value}&limit=1")).StatusCode, Is.EqualTo(HttpStatusCode.OK), value);
        }
        Assert.That((await Admin.GetAsync("/jobs?status=done")).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task AKeysPlan_IsAnEnumOfExactlyThePlansTheServerAccepts()
    {
        List<string?> Plans(string schema) => document.At($"components.schemas.{schema}.properties.plan")?["enum"]?.AsArray().Select(v => v?.GetValue<string>()).ToList() ?? [];

        Assert.That(Plans("CreateApiKeyRequest"), Is.EqualTo(new[] { "free", "pro", "enterprise" }), "a key's plan is required: null is refused");
        Assert.That(Plans("UpdateApiKeyRequest"), Is.EqualTo(new[] { null, "free", "pro", "enterprise" }), "null too, as a PATCH leaves it out");
        foreach (var plan in Plans("CreateApiKeyRequest").OfType<string>())
        {
            Assert.That((await Admin.PostJsonAsync("/api_keys", new { name = "docs-" + plan, plan })).StatusCode, Is.EqualTo(HttpStatusCode.Created), plan);
        }
        Assert.That((await Admin.PostJsonAsync("/api_keys", new { name = "docs-gold", plan = "gold" })).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task AnExecutionsMode_IsAnEnumOfExactlyTheModesTheServerAccepts()
    {
        var mode = document.At("components.schemas.ExecuteToolRequest.properties.mode");
        var modes = mode?["enum"]?.AsArray().Select(v => v?.GetValue<string>()).ToList() ?? [];

        Assert.That(modes, Is.EqualTo(new[] { null, "sync", "async" }), mode?.ToJsonString());
        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, mode = "sync" })).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, mode = "async" })).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            Assert.That((await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, mode = "later" })).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    [Test]
    public async Task AnExecutionsTimeout_DocumentsTheWidestRangeEitherModeAccepts()
    {
        var timeout = document.At("components.schemas.ExecuteToolRequest.properties.timeout_ms");

        await Assert.MultipleAsync(async () =>
        {
            Assert.That((timeout?["minimum"]?.GetValue<int>(), timeout?["maximum"]?.GetValue<int>()), Is.EqualTo((1, 86_400_000)), timeout?.ToJsonString());
            Assert.That((await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, mode = "async", timeout_ms = 86_400_000 })).StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
            var direct = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, timeout_ms = 300_001 });
            Assert.That(await direct.Content.ReadAsStringAsync(), Does.Contain("'timeout_ms' must be between 1 and 300000\""), "a direct run's own bound, named as before");
            var zero = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" }, mode = "async", timeout_ms = 0 });
            Assert.That(await zero.Content.ReadAsStringAsync(), Does.Contain("'timeout_ms' must be between 1 and 86400000 for a job"));
        });
    }

    [Test]
    public void AnExecutionsTimeout_SaysEachModesOwnBound_AndTheSettingThatGivesIt()
    {
        var description = document.Str("components.schemas.ExecuteToolRequest.properties.timeout_ms.description");

        // A client that checks against the maximum alone would send a direct run 300001 and be refused: the bound depends on mode.
        Assert.That(description, Does.Contain("1 to 300000 (Execution:MaxTimeoutMs)").And.Contain("1 to 86400000 (Jobs:MaxTimeoutMs)")
            .And.Contain("\"async\"").And.Contain("a direct run given more than 300000 is refused: 400 INVALID_ARGUMENTS"));
    }

    /// <summary>
    /// The fields the server alone puts in an error's details, each typed, so that a generated client reads
    /// error.details.max_concurrent as a number: a limit's, on the schema of the refusals over a limit (LimitError), and
    /// tool_code on every error's, each optional (a code gives its own), and any other still taken.
    /// </summary>
    [TestCase("LimitError", "limit", "integer", "WEBHOOK_LIMIT_REACHED")]
    [TestCase("LimitError", "retry_after", "integer", "RATE_LIMIT_EXCEEDED of the requests per minute")]
    [TestCase("LimitError", "max_concurrent", "integer", "RATE_LIMIT_EXCEEDED of a direct execution")]
    [TestCase("LimitError", "max_queued", "integer", "Jobs:MaxQueuedPerKey")]
    [TestCase("LimitError", "max_streams_per_key", "integer", "Streaming:MaxStreamsPerKey")]
    [TestCase("ApiError", "tool_code", "string", "EXECUTION_ERROR")]
    public void AnErrorsDetails_NameEachFieldTheServerAlonePutsThere_Typed_WithTheCodeThatGivesIt(string error, string field, string type, string said)
    {
        var details = document.At($"components.schemas.{error}.properties.details");
        var declared = details?["properties"]?[field];

        Assert.Multiple(() =>
        {
            Assert.That(declared?["type"]?.GetValue<string>(), Is.EqualTo(type), details?.ToJsonString());
            Assert.That(declared?["description"]?.GetValue<string>(), Does.Contain(said));
            Assert.That(details?["required"], Is.Null, "each optional: a code gives only its own");
            Assert.That(details?["additionalProperties"]?.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Object), "any other field still taken");
        });
    }

    /// <summary>
    /// A failed tool's details are its own beside tool_code: one may answer <c>{"limit":"x"}</c>, so the schema of the
    /// 500 that carries them types no field of a limit's (tool_code, which the server puts in last, it may). The refusals
    /// over a limit, whose details the server alone builds, are each answered with the schema that types them.
    /// </summary>
    [Test]
    public void AFailedToolsDetails_TypeNoFieldOfALimits_WhichEachRefusalOverALimitTypes()
    {
        var contract = new OpenApiContract(document);
        var failed = contract.ErrorDetails("/execute_tool", "post", "500");
        // Every 429 the document lists (a key's requests per minute, executions at once, jobs queued, streams open), and the webhooks' 409.
        var refusals = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Where(op => op.Value!["responses"]?["429"] is not null).Select(op => (path.Key, op.Key, "429")))
            .Append(("/webhooks", "post", "409")).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(refusals, Has.Count.GreaterThan(5), "the 429s of the execution endpoints and of the other routes");
            Assert.That(failed?["properties"]?["limit"], Is.Null, failed?.ToJsonString());
            Assert.That(failed?.At("properties.tool_code.type")?.GetValue<string>(), Is.EqualTo("string"));
            foreach (var (path, method, status) in refusals)
            {
                var refused = contract.ErrorDetails(path, method, status);
                Assert.That(refused?.At("properties.limit.type")?.GetValue<string>(), Is.EqualTo("integer"), $"{method} {path} {status}: {refused?.ToJsonString()}");
            }
        });
    }

    [Test]
    public async Task AKeysChange_WithNoField_IsRefusedByTheSchema_AndWhatTheSchemaCannotRefuse_IsSaid()
    {
        var key = await App.CreateKeyAsync();
        Task<HttpResponseMessage> Patch(string body) =>
            Admin.PatchAsync($"/api_keys/{key.KeyId}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        var empty = await Patch("{}");
        var nullAlone = await Patch("""{"name":null}""");
        var emptyLimits = await Patch("""{"rate_limits":{}}""");
        // A null name beside a change is taken: the schema may refuse an empty body, never a null name.
        var nullBeside = await Patch("""{"name":null,"plan":"pro"}""");

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(document.At("components.schemas.UpdateApiKeyRequest.minProperties")?.GetValue<int>(), Is.EqualTo(1));
            Assert.That(Operation("/api_keys/{key_id}", "patch")["description"]?.GetValue<string>(),
                Does.Contain("Nothing to change").And.Contain("rate_limits {}").And.Contain("fields that are all null"));
            foreach (var refused in new[] { empty, nullAlone, emptyLimits })
            {
                Assert.That((refused.StatusCode, await refused.Content.ReadAsStringAsync()), Is.EqualTo(
                    (HttpStatusCode.BadRequest, """{"error":{"code":"INVALID_ARGUMENTS","message":"Nothing to change: give name, plan, rate_limits or reset_rate_limits"}}""")));
            }
            Assert.That(nullBeside.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task AWebhooksEvents_AreAnEnumOfExactlyTheEventsTheServerAccepts_AtLeastOne()
    {
        var events = document.At("components.schemas.CreateWebhookRequest.properties.events");
        var names = events?["items"]?["enum"]?.AsArray().Select(v => v?.GetValue<string>()).ToList() ?? [];

        Assert.Multiple(() =>
        {
            Assert.That(names, Is.EqualTo(new[] { "job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout" }), events?.ToJsonString());
            Assert.That(events?["minItems"]?.GetValue<int>(), Is.EqualTo(1), events?.ToJsonString());
            Assert.That(events?["uniqueItems"]?.GetValue<bool>(), Is.True, events?.ToJsonString());
        });
        using var client = App.CreateClient((await App.CreateKeyAsync(name: "docs-events")).ApiKey);
        await Assert.MultipleAsync(async () =>
        {
            Assert.That((await client.PostJsonAsync("/webhooks", new { url = "http://93.184.215.14/hook", events = names })).StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That((await client.PostJsonAsync("/webhooks", new { url = "http://93.184.215.14/hook", events = new[] { "job.done" } })).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await client.PostRawAsync("/webhooks", """{"url":"http://93.184.215.14/hook","events":[null]}""")).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await client.PostJsonAsync("/webhooks", new { url = "http://93.184.215.14/hook", events = Array.Empty<string>() })).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await client.PostJsonAsync("/webhooks", new { url = "http://93.184.215.14/hook", events = new[] { "job.failed", "job.failed" } })).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    [Test]
    public async Task AWebhooksSecret_HasAPattern_ThatTakesExactlyTheSecretsThatDecode()
    {
        var pattern = document.Str("components.schemas.CreateWebhookRequest.properties.secret.pattern");
        Assert.That(pattern, Is.Not.Null);
        var schemaReading = new System.Text.RegularExpressions.Regex(pattern!);
        var secrets = Enumerable.Range(0, 70).Select(n => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(n))).ToList();
        // Padding left out or misplaced, white space, the URL-safe alphabet, another prefix, and unused bits set ("AB==").
        secrets.AddRange(secrets.Where(s => s.EndsWith('=')).Select(s => s.TrimEnd('=')).ToList());
        secrets.AddRange(["whsec_" + new string('A', 31) + "=", $"whsec_ {secrets[32][6..]}", $"{secrets[32]}\n", secrets[33][..^1] + "_",
            "whsex_" + secrets[32][6..], "whsec_" + new string('A', 41) + "B==", "whsec_" + new string('A', 42) + "B="]);

        Assert.Multiple(() =>
        {
            foreach (var secret in secrets)
            {
                Assert.That(schemaReading.IsMatch(secret), Is.EqualTo(Decodes(secret)), secret);
            }
        });
        using var client = App.CreateClient((await App.CreateKeyAsync(name: "docs-secret")).ApiKey);
        await Assert.MultipleAsync(async () =>
        {
            foreach (var bytes in new[] { 23, 24, 64, 65 })
            {
                var secret = "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes));
                var response = await client.PostJsonAsync("/webhooks", new { url = "http://93.184.215.14/hook", events = new[] { "job.failed" }, secret });
                Assert.That(response.StatusCode, Is.EqualTo(schemaReading.IsMatch(secret) ? HttpStatusCode.Created : HttpStatusCode.BadRequest), $"{bytes} bytes");
            }
        });
    }

    /// <summary>What a Standard Webhooks library takes: whsec_ and base64, without white space, of 24 to 64 bytes.</summary>
    private static bool Decodes(string secret)
    {
        var encoded = secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret[6..] : null;
        var bytes = new byte[100];
        return encoded is not null && !encoded.Any(char.IsWhiteSpace)
            && Convert.TryFromBase64String(encoded, bytes, out var written) && written is >= 24 and <= 64;
    }

    [TestCase("ExecuteToolRequest", "/execute_tool")]
    [TestCase("SubmitJobRequest", "/jobs/submit")]
    public async Task ARequestsArguments_IsDocumentedAsAnObject_AsTheServerTakesNothingElse(string schema, string route)
    {
        var arguments = document.At($"components.schemas.{schema}.properties.arguments");

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(arguments?["type"]?.ToJsonString(), Is.EqualTo("\"object\""), arguments?.ToJsonString());
            Assert.That((await Admin.PostRawAsync(route, """{"tool":"echo","arguments":["x"]}""")).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((await Admin.PostRawAsync(route, """{"tool":"echo","arguments":{"message":"x"}}""")).IsSuccessStatusCode, Is.True);
        });
    }

    [TestCase("ExecuteToolRequest", "/execute_tool", """{"tool":null,"arguments":{"message":"x"}}""")]
    [TestCase("ExecuteToolRequest", "/execute_tool", """{"tool":"echo","arguments":null}""")]
    [TestCase("SubmitJobRequest", "/jobs/submit", """{"tool":null,"arguments":{"message":"x"}}""")]
    [TestCase("SubmitJobRequest", "/jobs/submit", """{"tool":"echo","arguments":null}""")]
    [TestCase("CreateApiKeyRequest", "/api_keys", """{"name":null,"plan":"free"}""")]
    [TestCase("CreateApiKeyRequest", "/api_keys", """{"name":"k","plan":null}""")]
    [TestCase("CreateWebhookRequest", "/webhooks", """{"url":null,"events":["job.failed"]}""")]
    [TestCase("CreateWebhookRequest", "/webhooks", """{"url":"http://93.184.215.14/hook","events":null}""")]
    public async Task ARequiredField_IsNotDocumentedAsNullable_AsTheServerRefusesNull(string schema, string route, string body)
    {
        var field = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject().Single(p => p.Value is null).Key;
        var declared = document.At($"components.schemas.{schema}.properties.{field}");
        var nullable = declared?["type"]?.ToJsonString().Contains("null") == true
            || declared?["oneOf"]?.AsArray().Any(branch => branch?["type"]?.ToJsonString() == "\"null\"") == true
            || declared?["enum"]?.AsArray().Any(value => value is null) == true;

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(Required(schema), Does.Contain(field));
            Assert.That(nullable, Is.False, declared?.ToJsonString());
            Assert.That((await Admin.PostRawAsync(route, body)).StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    [Test]
    public void EveryRoute_DocumentsTheServersOwnFailure_InTheErrorShape()
    {
        var operations = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(op => (Route: $"{op.Key} {path.Key}", Responses: op.Value!["responses"]!)));

        Assert.Multiple(() =>
        {
            foreach (var (route, responses) in operations)
            {
                var failure = responses["500"];
                Assert.That(failure?["description"]?.GetValue<string>(), Does.Contain("INTERNAL_ERROR"), route);
                Assert.That(failure?.At("content")?["application/json"]?["schema"]?["$ref"]?.GetValue<string>(), Does.EndWith("/ErrorEnvelope"), route);
            }
        });
    }

    [Test]
    public void Stream_IsDocumentedAsAnEventStream_WithLastEventId_AndTheAccessTokenQuery()
    {
        var stream = Operation("/jobs/{job_id}/stream", "get");

        Assert.Multiple(() =>
        {
            Assert.That(stream.At("responses.200.content")!.AsObject().Select(c => c.Key), Is.EqualTo(new[] { "text/event-stream" }));
            Assert.That(stream["parameters"]!.AsArray().Where(p => p!.Str("in") == "header").Select(p => p.Str("name")), Is.EquivalentTo(new[] { "Last-Event-ID" }));
            Assert.That(stream["security"]!.AsArray().Select(s => s!.AsObject().Single().Key), Is.EquivalentTo(new[] { "bearer", "access_token" }));
            var scheme = document.At("components.securitySchemes.access_token");
            Assert.That((scheme.Str("type"), scheme.Str("in"), scheme.Str("name")), Is.EqualTo(("apiKey", "query", "access_token")));
        });
    }

    [Test]
    public void Stream_DocumentsNoContentForAReconnectThatHasTheFinalState_AndRetryAfterOnTooManyStreams_NotOnAStoppingNodesRefusal()
    {
        var responses = Operation("/jobs/{job_id}/stream", "get")["responses"]!.AsObject();

        Assert.Multiple(() =>
        {
            Assert.That(responses["204"]?["description"]?.GetValue<string>(), Does.Contain("Last-Event-ID"));
            Assert.That(responses["503"]!["description"]!.GetValue<string>(), Does.Contain("TOO_MANY_STREAMS").And.Contain("SERVER_SHUTTING_DOWN"));
            Assert.That(Headers(responses["503"]), Does.Contain("Retry-After"));
            Assert.That(responses.At("503.headers.Retry-After.required")?.GetValue<bool>() ?? false, Is.False, "a SERVER_SHUTTING_DOWN has none");
            Assert.That(responses.At("503.headers.Retry-After").Str("description"), Does.Contain("SERVER_SHUTTING_DOWN"));
        });
    }

    [Test]
    public void AccessTokenQuery_IsAllowedOnTheStreamOnly()
    {
        var takingIt = document["paths"]!.AsObject()
            .SelectMany(path => path.Value!.AsObject().Select(op => (Route: $"{op.Key} {path.Key}", Operation: op.Value!)))
            .Where(o => o.Operation["security"]?.AsArray().Any(s => s!.AsObject().ContainsKey("access_token")) == true)
            .Select(o => o.Route);

        Assert.That(takingIt, Is.EqualTo(new[] { "get /jobs/{job_id}/stream" }));
    }

    [Test]
    public void Schemas_UseTheContractsFieldNames()
    {
        var schemas = document.At("components.schemas")!.AsObject();

        Assert.Multiple(() =>
        {
            Assert.That(schemas["JobResponse"]!["properties"]!.AsObject().Select(p => p.Key), Is.SupersetOf(new[] { "job_id", "status", "position_in_queue", "progress", "tokens_used" }));
            Assert.That(schemas["SubmitJobRequest"]!["properties"]!.AsObject().Select(p => p.Key), Is.SupersetOf(new[] { "tool", "arguments", "timeout_ms" }));
            Assert.That(document.At("components.securitySchemes.bearer.scheme")!.GetValue<string>(), Is.EqualTo("bearer"));
        });
    }

    [Test]
    public async Task ReferencePage_IsServedFromThePackage_WithoutAKey_OrACdn()
    {
        using var anonymous = App.CreateClient(apiKey: null);

        var page = await anonymous.GetAsync("/docs");
        var html = await page.Content.ReadAsStringAsync();
        var scripts = System.Text.RegularExpressions.Regex.Matches(html, "<script[^>]+src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();

        Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(html, Does.Contain("openapi/v1.json"));
        Assert.That(scripts, Is.Not.Empty);
        foreach (var script in scripts)
        {
            Assert.That(script, Does.Not.StartWith("http"), "no CDN");
            var asset = await anonymous.GetAsync(new Uri(new Uri("http://localhost/docs/"), script));
            Assert.That(asset.StatusCode, Is.EqualTo(HttpStatusCode.OK), script);
        }
    }

    /// <summary>No other site may frame the reference page (clickjacking), nor any answer under /docs; nothing there is sniffed.</summary>
    [Test]
    public async Task EveryAnswerUnderDocs_ForbidsFramingAndSniffing()
    {
        using var anonymous = App.CreateClient(apiKey: null);
        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["the page"] = await anonymous.GetAsync("/docs"),
            ["the document's page"] = await anonymous.GetAsync("/docs/v1"),
            ["HEAD of the page"] = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/docs/")),
            ["its script"] = await anonymous.GetAsync("/docs/scalar.js"),
            ["an unknown path under it"] = await anonymous.GetAsync("/docs/anything"),
        };

        Assert.Multiple(() =>
        {
            foreach (var (what, response) in answers)
            {
                Assert.That(Header(response, "Content-Security-Policy"), Does.Contain("frame-ancestors 'none'"), what);
                Assert.That(Header(response, "X-Frame-Options"), Is.EqualTo("DENY"), what);
                Assert.That(Header(response, "X-Content-Type-Options"), Is.EqualTo("nosniff"), what);
                response.Dispose();
            }
        });
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(", ", values) : "(none)";

    [Test]
    public async Task APathUnderDocs_ThatIsNeitherThePageNorItsFiles_IsAnUnknownRoute()
    {
        using var anonymous = App.CreateClient(apiKey: null);
        var unknownRoute = await (await anonymous.GetAsync("/no/such/route")).Content.ReadAsStringAsync();
        // The page, the document's own page, and what the page loads (its scripts; its icon, named in its configuration).
        var served = new[] { "/docs", "/docs/", "/docs/v1", "/docs/scalar.js", "/docs/scalar.aspnetcore.js", "/docs/favicon.svg" };

        await Assert.MultipleAsync(async () =>
        {
            foreach (var path in new[] { "/docs/anything", "/docs/index.html", "/docs/v2", "/docs/scalar.js.map" })
            {
                var response = await anonymous.GetAsync(path);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), path);
                Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(unknownRoute), path);
                Assert.That((await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, path))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"HEAD {path}");
            }
            foreach (var path in served)
            {
                Assert.That((await anonymous.GetAsync(path)).StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
            }
            Assert.That(await (await anonymous.GetAsync("/docs")).Content.ReadAsStringAsync(), Does.Contain("favicon.svg"));
        });
    }

    [TestCase("/openapi/v2.json")]
    [TestCase("/openapi/anything.json")]
    public async Task ADocumentOtherThanTheOne_IsAnUnknownRoute(string path)
    {
        using var anonymous = App.CreateClient(apiKey: null);
        var unknown = await anonymous.GetAsync("/no/such/route");
        var unknownRoute = await unknown.Content.ReadAsStringAsync();

        var response = await anonymous.GetAsync(path);

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(unknownRoute));
            Assert.That(Header(response, "Cache-Control"), Does.Contain("no-store").And.EqualTo(Header(unknown, "Cache-Control")), "an error, not the document a cache may keep");
            Assert.That((await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, path))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"HEAD {path}");
            Assert.That((await anonymous.GetAsync("/openapi/V1.json")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "names are read in any case, as routes are");
        });
    }
}
