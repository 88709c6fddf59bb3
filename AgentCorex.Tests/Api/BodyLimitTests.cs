using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AgentCorex.Tests.Api;

/// <summary>
/// A body over 1 MiB is refused with 413, but only to a caller the server knows: one without a valid key learns
/// nothing but 401, whatever its body. Bodies of declared length and chunked ones are treated alike.
/// </summary>
public sealed class BodyLimitTests
{
    private AgentCorexApp app = null!;
    private Uri address = null!;

    [OneTimeSetUp]
    public void StartServer()
    {
        // Kestrel, not the in-memory TestServer: that one gives every body a Content-Length (so none is chunked) and
        // enforces no body size of its own.
        (app, address) = AgentCorexApp.StartOnKestrel();
        Admin = Client(AgentCorexApp.AdminKey);
    }

    /// <summary>A client that sends bodies as given: the default one buffers them, to follow redirects, and so declares their length.</summary>
    private HttpClient Client(string? apiKey)
    {
        var client = app.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = address });
        client.DefaultRequestHeaders.Authorization = apiKey is null ? null : new AuthenticationHeaderValue("Bearer", apiKey);
        // As curl does for large bodies: a server that refuses before reading is answered before the body is sent,
        // rather than closing the connection under the client's write of a body it will never read.
        client.DefaultRequestHeaders.ExpectContinue = true;
        return client;
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        Admin?.Dispose();
        app?.Dispose();
    }

    private AgentCorexApp App => app;

    private HttpClient Admin { get; set; } = null!;

    private static readonly string Oversized = $$$"""{"tool":"echo","arguments":{"message":"{{{new string('x', 1024 * 1024)}}}"}}""";

    public enum Framing
    {
        DeclaredLength,
        Chunked,
    }

    private static HttpContent Body(Framing framing)
    {
        var bytes = Encoding.UTF8.GetBytes(Oversized);
        HttpContent content = framing == Framing.DeclaredLength
            ? new ByteArrayContent(bytes)
            : new StreamContent(new UnknownLengthStream(bytes));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (framing == Framing.DeclaredLength)
        {
            content.Headers.ContentLength = bytes.Length;
        }
        return content;
    }

    [Test]
    public async Task OversizedBody_WithoutAKey_IsUnauthorized(
        [Values("/jobs/submit", "/execute_tool", "/webhooks")] string route, [Values] Framing framing)
    {
        using var anonymous = Client(apiKey: null);

        var response = await anonymous.PostAsync(route, Body(framing));

        await AssertUnauthorizedAsync(response);
    }

    [Test]
    public async Task OversizedBody_WithAnUnknownOrRevokedKey_IsUnauthorized([Values] Framing framing)
    {
        var revoked = await App.CreateKeyAsync();
        Assert.That((await Admin.DeleteAsync($"/api_keys/{revoked.KeyId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        foreach (var key in new[] { "acx_nokey0000000_notasecretatall", revoked.ApiKey })
        {
            using var client = Client(key);
            await AssertUnauthorizedAsync(await client.PostAsync("/jobs/submit", Body(framing)));
        }
    }

    [Test]
    public async Task OversizedBody_FromAKeyWithoutTheRole_IsForbidden([Values] Framing framing)
    {
        using var user = Client((await App.CreateKeyAsync()).ApiKey);

        var response = await user.PostAsync("/execute_tool", Body(framing));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("FORBIDDEN"));
    }

    [Test]
    public async Task OversizedBody_FromAValidKey_IsPayloadTooLarge(
        [Values("/jobs/submit", "/execute_tool", "/webhooks")] string route, [Values] Framing framing)
    {
        var response = await Admin.PostAsync(route, Body(framing));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("PAYLOAD_TOO_LARGE"));
    }

    [Test]
    public async Task OversizedBody_OnAnExecutionEndpoint_IsCounted_AndCarriesTheRateLimitHeaders([Values] Framing framing)
    {
        using var user = Client((await App.CreateKeyAsync(plan: "free")).ApiKey);

        var first = await user.PostAsync("/jobs/submit", Body(framing));
        var second = await user.PostAsync("/jobs/submit", Body(framing));

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(first.Headers.GetValues("X-RateLimit-Limit"), Is.EqualTo(new[] { "10" }));
        Assert.That(first.Headers.GetValues("X-RateLimit-Remaining"), Is.EqualTo(new[] { "9" }));
        Assert.That(second.Headers.GetValues("X-RateLimit-Remaining"), Is.EqualTo(new[] { "8" }));
        Assert.That(first.Headers.Contains("X-RateLimit-Reset"));
    }

    private static async Task AssertUnauthorizedAsync(HttpResponseMessage response)
    {
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("UNAUTHORIZED"));
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
        Assert.That(response.Headers.Contains("X-RateLimit-Limit"), Is.False);
    }

    /// <summary>A stream that does not tell its length, so the client sends it chunked.</summary>
    private sealed class UnknownLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();
    }
}
