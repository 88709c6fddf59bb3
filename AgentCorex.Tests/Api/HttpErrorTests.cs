using System.Net;
using AgentCorex.Tests.Infrastructure;

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

    [TestCase("text/plain")]
    [TestCase("application/xml")]
    [TestCase("application/x-www-form-urlencoded")]
    public async Task NonJsonContentType_IsUnsupportedMediaType(string contentType)
    {
        var response = await Admin.PostRawAsync("/execute_tool", """{"tool":"echo","arguments":{"message":"x"}}""", contentType);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UnsupportedMediaType));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("UNSUPPORTED_MEDIA_TYPE"));
    }

    [Test]
    public async Task BodyOverOneMebibyte_IsPayloadTooLarge()
    {
        var message = new string('x', 1024 * 1024);
        var response = await Admin.PostRawAsync("/execute_tool", $$$"""{"tool":"echo","arguments":{"message":"{{{message}}}"}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("PAYLOAD_TOO_LARGE"));
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

    [Test]
    public async Task DeeplyNestedBody_IsInvalidRequest()
    {
        var nested = string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 200);
        var response = await Admin.PostRawAsync("/execute_tool", $$"""{"tool":"echo","arguments":{{nested}}}""");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("INVALID_REQUEST"));
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

    [Test]
    public async Task WrongMethod_IsMethodNotAllowed()
    {
        var response = await Admin.GetAsync("/execute_tool");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"));
    }
}
