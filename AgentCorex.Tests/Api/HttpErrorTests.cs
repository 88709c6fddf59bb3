using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.RateLimits;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Moq;

namespace AgentCorex.Tests.Api;

/// <summary>Whatever goes wrong at the HTTP level is answered in the contract's error shape: no 500, no HTML, no stack trace.</summary>
public sealed class HttpErrorTests : ServerTest
{

    [TestCase("{\"tool\":\"echo\",")]
    [TestCase("not json at all")]
    [TestCase("")]
    [TestCase("[1,2]")]
    [TestCase("null")]
    [TestCase("{\"tool\":\"echo\",\"arguments\":{\"message\":\"x\"}} trailing")]
    [TestCase("{\"tool\":\"echo\",\"arguments\":{\"message\":\"x\"}}{}")]
    public async Task MalformedBody_IsInvalidRequest(string body)
    {
        var response = await Admin.PostRawAsync("/execute_tool", body);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("INVALID_REQUEST"));
    }

    [TestCase("/execute_tool", "text/plain")]
    [TestCase("/execute_tool", "application/xml")]
    [TestCase("/execute_tool", "application/x-www-form-urlencoded")]
    [TestCase("/jobs/submit", "multipart/form-data; boundary=x")] // a JSON body under a form's content type
    [TestCase("/execute_tool", "multipart/form-data")]
    public async Task NonJsonContentType_IsUnsupportedMediaType(string route, string contentType)
    {
        var content = new StringContent("""{"tool":"echo","arguments":{"message":"x"}}""");
        content.Headers.Remove("Content-Type");
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await Admin.PostAsync(route, content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("UNSUPPORTED_MEDIA_TYPE"));
        Assert.That(body.Str("status"), Is.EqualTo("error"), "an execution endpoint's error");
    }

    [TestCase("/execute_tool", "gzip")]
    [TestCase("/jobs/submit", "br")]
    [TestCase("/jobs/submit", "identity, gzip")]
    public async Task ACompressedBody_IsUnsupportedMediaType_NotJsonThatIsNotValid(string route, string coding)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write("""{"tool":"echo","arguments":{"message":"x"}}"""u8);
        }
        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        content.Headers.TryAddWithoutValidation("Content-Encoding", coding);

        var response = await Admin.PostAsync(route, content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("UNSUPPORTED_MEDIA_TYPE"));
        Assert.That(body.Str("status"), Is.EqualTo("error"), "an execution endpoint's error");
    }

    [Test]
    public async Task ABodyWithTheIdentityCoding_IsRead()
    {
        var content = new StringContent("""{"tool":"echo","arguments":{"message":"x"}}""", System.Text.Encoding.UTF8, "application/json");
        content.Headers.TryAddWithoutValidation("Content-Encoding", "identity");

        var response = await Admin.PostAsync("/execute_tool", content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    [TestCase("/execute_tool", "application/json; charset=utf8")]
    [TestCase("/jobs/submit", "application/json; charset=utf8")]
    [TestCase("/execute_tool", "application/json; charset=iso-8859-1")]
    [TestCase("/api_keys", "application/json; charset=utf-16")]
    public async Task AJsonBodysCharset_HasNoEffect_TheBodyIsReadAsUtf8(string route, string contentType)
    {
        // RFC 8259 defines no charset for application/json: "adding one really has no effect on compliant recipients".
        var body = route == "/api_keys" ? """{"name":"café","plan":"free"}""" : """{"tool":"echo","arguments":{"message":"café"}}""";
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await Admin.PostAsync(route, content);

        Assert.That((int)response.StatusCode, Is.EqualTo(route switch { "/execute_tool" => 200, "/jobs/submit" => 202, _ => 201 }),
            await response.Content.ReadAsStringAsync());
        if (route == "/execute_tool")
        {
            Assert.That((await response.ReadObjectAsync()).Str("result.message"), Is.EqualTo("café"), "read as UTF-8");
        }
    }

    [TestCase("/execute_tool")]
    [TestCase("/jobs/submit")]
    public async Task BodyWithAUtf8ByteOrderMark_IsRead(string route)
    {
        var json = "\uFEFF" + """{"tool":"echo","arguments":{"message":"x"}}""";

        var response = await Admin.PostRawAsync(route, json);

        Assert.That((int)response.StatusCode, Is.EqualTo(route == "/execute_tool" ? 200 : 202), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task BodyOverOneMebibyte_IsPayloadTooLarge()
    {
        var message = new string('x', 1024 * 1024);
        var response = await Admin.PostRawAsync("/execute_tool", $$$"""{"tool":"echo","arguments":{"message":"{{{message}}}"}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("PAYLOAD_TOO_LARGE"));
        Assert.That(body.Str("status"), Is.EqualTo("error"), "an execution endpoint's error");
    }

    [Test]
    public async Task BodyJustUnderTheLimit_IsRead()
    {
        // Over the echo tool's own 10,000-character bound, but under the body limit: the tool's validator answers.
        var message = new string('x', 1024 * 1024 - 100);
        var response = await Admin.PostRawAsync("/execute_tool", $$$"""{"tool":"echo","arguments":{"message":"{{{message}}}"}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.argument"), Is.EqualTo("message"));
    }

    // Bytes that are not UTF-8 are not JSON (RFC 8259 8.1), wherever they sit: a name, a value, a tool's argument.
    [TestCase("/execute_tool", """{"tool":"BAD","arguments":{}}""")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":{"message":"BAD"}}""")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":{"BAD":1}}""")]
    [TestCase("/api_keys", """{"BAD":1,"plan":"free"}""")]
    [TestCase("/webhooks", """{"url":"https://example.com/BAD","events":["job.failed"]}""")]
    public async Task BodyWithBytesThatAreNotUtf8_IsInvalidRequest(string route, string json)
    {
        byte[] notUtf8 = [0xC3, 0x28]; // a lead byte without its continuation
        var parts = json.Split("BAD");
        var content = new ByteArrayContent([.. System.Text.Encoding.UTF8.GetBytes(parts[0]), .. notUtf8, .. System.Text.Encoding.UTF8.GetBytes(parts[1])]);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");

        var response = await Admin.PostAsync(route, content);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_REQUEST"));
        Assert.That(body.Str("error.message"), Does.StartWith("The request body is not valid JSON"));
    }

    // A lone surrogate, escaped, is JSON's grammar but no text: a field holding one is refused, a tool of that name is
    // not named back, and a name of one is no field.
    [TestCase("/execute_tool", """{"tool":"x\ud800y","arguments":{}}""", "INVALID_ARGUMENTS")]
    [TestCase("/jobs/submit", """{"tool":"\udc00","arguments":{}}""", "INVALID_ARGUMENTS")]
    [TestCase("/jobs/submit", """{"tool":"\ud800","arguments":[]}""", "INVALID_ARGUMENTS")]
    [TestCase("/execute_tool", """{"\ud800":1}""", "INVALID_REQUEST")]
    [TestCase("/jobs/submit", """{"tool":"echo","arguments":{},"\udc00":1}""", "INVALID_REQUEST")]
    [TestCase("/api_keys", """{"\ud800":1,"plan":"free"}""", "INVALID_REQUEST")]
    [TestCase("/webhooks", """{"url":"https://example.com/","events":["job.failed"],"\udc00":1}""", "INVALID_REQUEST")]
    public async Task BodyWithALoneSurrogate_IsRefused_NotAFault(string route, string json, string code)
    {
        var response = await Admin.PostRawAsync(route, json);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo(code));
        Assert.That(body.Str("tool"), Is.Null.Or.EqualTo("echo"), "a tool name that is not text is not echoed");
    }

    [Test]
    public async Task DeeplyNestedBody_IsInvalidRequest()
    {
        var nested = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);
        var response = await Admin.PostRawAsync("/execute_tool", $$"""{"tool":"echo","arguments":{{nested}}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_REQUEST"));
        Assert.That(body.Str("error.message"), Is.EqualTo("The request body is nested deeper than 64 levels"));
    }

    [TestCase("/no/such/route")]
    [TestCase("/jobs/nothing/here/at/all")]
    public async Task UnknownRoute_IsNotFound_WithOrWithoutKey(string url)
    {
        using var anonymous = App.CreateClient();

        foreach (var client in new[] { Admin, anonymous })
        {
            var response = await client.GetAsync(url);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("NOT_FOUND"));
            Assert.That(response.Content.Headers.ContentType?.CharSet, Is.EqualTo("utf-8"), "as every JSON answer says");
        }
    }

    [TestCase("GET", "/jobs/%20", "JOB_NOT_FOUND")]
    [TestCase("DELETE", "/jobs/%20", "JOB_NOT_FOUND")]
    [TestCase("GET", "/jobs/%20/stream", "JOB_NOT_FOUND")]
    [TestCase("DELETE", "/api_keys/%20", "API_KEY_NOT_FOUND")]
    [TestCase("DELETE", "/webhooks/%09", "WEBHOOK_NOT_FOUND")]
    [TestCase("GET", "/webhooks/%20%20/deliveries", "WEBHOOK_NOT_FOUND")]
    public async Task PathIdOfWhitespace_IsNotFound_NotAMissingArgument(string method, string url, string code)
    {
        var response = await Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo(code));
    }

    private static readonly string Absurd = new('k', 100_000);

    [TestCase("POST", "/execute_tool", """{"tool":"ABSURD","arguments":{}}""", "TOOL_NOT_FOUND")]
    [TestCase("POST", "/jobs/submit", """{"tool":"ABSURD","arguments":{}}""", "TOOL_NOT_FOUND")]
    [TestCase("POST", "/execute_tool", """{"tool":"echo","arguments":{"message":"x","ABSURD":1}}""", "INVALID_ARGUMENTS")]
    [TestCase("POST", "/execute_tool", """{"tool":"echo","arguments":{"ABSURD":1,"ABSURD":2}}""", "INVALID_ARGUMENTS")]
    [TestCase("POST", "/api_keys", """{"name":"x","plan":"free","ABSURD":1}""", "INVALID_ARGUMENTS")]
    [TestCase("POST", "/webhooks", """{"url":"https://example.com/","events":["job.failed"],"ABSURD":1}""", "INVALID_ARGUMENTS")]
    [TestCase("GET", "/tools/SHORTER", null, "TOOL_NOT_FOUND")]
    [TestCase("DELETE", "/api_keys/SHORTER", null, "API_KEY_NOT_FOUND")]
    [TestCase("DELETE", "/webhooks/SHORTER", null, "WEBHOOK_NOT_FOUND")]
    [TestCase("GET", "/webhooks/SHORTER/deliveries", null, "WEBHOOK_NOT_FOUND")]
    public async Task ANameOrIdLongerThanAnyRealOne_IsEchoedOnlyInPart(string method, string url, string? body, string code)
    {
        // A body may carry a name of a megabyte, a path one of several kilobytes (Kestrel's request line limit).
        var request = new HttpRequestMessage(new HttpMethod(method), url.Replace("SHORTER", Absurd[..5000]));
        if (body is not null)
        {
            request.Content = new StringContent(body.Replace("ABSURD", Absurd), System.Text.Encoding.UTF8, "application/json");
        }

        var response = await Admin.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo(code), text[..Math.Min(300, text.Length)]);
        Assert.That(text, Does.Contain("kkk...").And.Length.LessThan(1000), text[..Math.Min(300, text.Length)]);
    }

    [TestCase("POST", "/health/live")]
    [TestCase("DELETE", "/health/ready")]
    [TestCase("PUT", "/metrics")]
    public async Task ReadOnlyEndpoint_RefusesAWrite_MethodNotAllowed(string method, string url)
    {
        var response = await Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"));
        Assert.That(response.Content.Headers.Allow, Is.EquivalentTo(new[] { "GET", "HEAD" }));
    }

    [TestCase("GET", "/execute_tool")]
    [TestCase("GET", "/jobs/submit")]
    [TestCase("DELETE", "/jobs/submit")]
    [TestCase("PUT", "/jobs/submit")]
    public async Task WrongMethod_IsMethodNotAllowed(string method, string url)
    {
        // /jobs/submit is not a job named "submit": GET and DELETE there are the submit route asked with the wrong method.
        var response = await Admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"));
        Assert.That(response.Content.Headers.Allow, Is.EquivalentTo(new[] { "POST" }));
    }

    [TestCase("/execute_tool")]
    [TestCase("/jobs/submit")]
    public async Task AFaultOutsideTheAction_OnAnExecutionEndpoint_IsAnExecutionError_WithNoStackTrace(string route)
    {
        // The rate limit's count, a filter's work before the action, failing in a way nothing expects.
        var counter = new Mock<IRequestCounter>();
        counter.Setup(c => c.CountAsync(It.IsAny<string>(), It.IsAny<string>(), It.IsAny<long>(), It.IsAny<CancellationToken>()))
            .ThrowsAsync(new InvalidOperationException("secret internals"));
        // The admin key counted too, so that the count runs on either endpoint (POST /execute_tool takes admin keys only).
        using var app = new AgentCorexApp(new Dictionary<string, string?> { ["RateLimits:Admin:RequestsPerMinute"] = "1000" });
        using var node = app.WithWebHostBuilder(web => web.ConfigureTestServices(services => services.AddSingleton(counter.Object)));
        using var admin = node.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", AgentCorexApp.AdminKey);

        var response = await admin.PostJsonAsync(route, new { tool = "echo", arguments = new { message = "x" } });

        var text = await response.Content.ReadAsStringAsync();
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That((response.StatusCode, body.Str("error.code")), Is.EqualTo((HttpStatusCode.InternalServerError, "INTERNAL_ERROR")));
            Assert.That(body.Str("status"), Is.EqualTo("error"), "an execution endpoint's error");
            Assert.That(text, Does.Not.Contain("secret internals").And.Not.Contain("   at "));
        });
    }
}
