using System.Net;
using System.Net.Http.Headers;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Auth;

/// <summary>Who may call what: no key, a bad key, a revoked key, a user key on admin endpoints.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class AuthTests(TestStorage storage) : ServerTest(storage)
{

    private static IEnumerable<TestCaseData> KeyedEndpoints()
    {
        yield return new TestCaseData(HttpMethod.Post, "/execute_tool");
        yield return new TestCaseData(HttpMethod.Get, "/tools");
        yield return new TestCaseData(HttpMethod.Get, "/tools/echo");
        yield return new TestCaseData(HttpMethod.Get, "/api_keys");
        yield return new TestCaseData(HttpMethod.Post, "/api_keys");
        yield return new TestCaseData(HttpMethod.Delete, "/api_keys/key_aaaaaaaaaaaa");
        yield return new TestCaseData(HttpMethod.Get, "/api_keys/key_aaaaaaaaaaaa");
        yield return new TestCaseData(HttpMethod.Get, "/webhooks/wh_aaaaaaaaaaaa");
    }

    private static HttpRequestMessage Request(HttpMethod method, string url, string? authorization)
    {
        var request = new HttpRequestMessage(method, url);
        if (method != HttpMethod.Get && method != HttpMethod.Delete)
        {
            request.Content = new StringContent("""{"tool":"echo","arguments":{"message":"x"}}""", System.Text.Encoding.UTF8, "application/json");
        }
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        return request;
    }

    [TestCaseSource(nameof(KeyedEndpoints))]
    public async Task Endpoint_ReturnsUnauthorized_WithoutKey(HttpMethod method, string url)
    {
        using var client = App.CreateClient();
        var response = await client.SendAsync(Request(method, url, authorization: null));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("UNAUTHORIZED"));
        Assert.That(body.Str("error.message"), Is.Not.Empty);
    }

    [TestCase("/jobs/job_aaaaaaaaaaaa/stream", "An API key is required: send 'Authorization: Bearer <api key>' or '?access_token=<api key>'")]
    [TestCase("/jobs/job_aaaaaaaaaaaa", "An API key is required: send 'Authorization: Bearer <api key>'")]
    public async Task Unauthorized_WithoutKey_SaysHowTheEndpointTakesOne(string url, string message)
    {
        using var client = App.CreateClient();
        var response = await client.GetAsync(url);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await response.ReadObjectAsync()).Str("error.message"), Is.EqualTo(message), "a browser's EventSource cannot send the header");
    }

    [TestCase("Bearer acx_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")]
    [TestCase("Bearer not-a-key")]
    [TestCase("Basic dXNlcjpwYXNz")]
    [TestCase("Bearer ")]
    // Near misses of the configured admin key (test-admin-key-0123456789), which is compared without a hash.
    [TestCase("Bearer test-admin-key-0123456788")]
    [TestCase("Bearer test-admin-key-012345678")]
    [TestCase("Bearer test-admin-key-01234567890")]
    [TestCase("Bearer Test-admin-key-0123456789")]
    public async Task Endpoint_ReturnsUnauthorized_ForBadKey(string authorization)
    {
        using var client = App.CreateClient();
        var response = await client.SendAsync(Request(HttpMethod.Get, "/tools", authorization));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("UNAUTHORIZED"));
    }

    [Test]
    public async Task Endpoint_ReturnsUnauthorized_ForKeyWithWrongSecret()
    {
        var key = await App.CreateKeyAsync();
        var forged = key.ApiKey[..^4] + (key.ApiKey.EndsWith("aaaa", StringComparison.Ordinal) ? "bbbb" : "aaaa");
        using var client = App.CreateClient(forged);

        var response = await client.GetAsync("/tools");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task RevokedKey_IsRefused_AtOnce()
    {
        var key = await App.CreateKeyAsync();
        using var user = App.CreateClient(key.ApiKey);
        Assert.That((await user.GetAsync("/tools")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the key works before it is revoked");
        var revoke = await Admin.DeleteAsync($"/api_keys/{key.KeyId}");
        Assert.That(revoke.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var after = await user.GetAsync("/tools");
        Assert.That(after.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That((await after.ReadObjectAsync()).Str("error.code"), Is.EqualTo("UNAUTHORIZED"));
    }

    [TestCase("POST", "/execute_tool")]
    [TestCase("GET", "/api_keys")]
    [TestCase("GET", "/api_keys?limit=5&offset=5")]
    [TestCase("GET", "/api_keys?limit=0")] // refused before its query is read
    [TestCase("GET", "/api_keys/key_aaaaaaaaaaaa")]
    [TestCase("POST", "/api_keys")]
    [TestCase("DELETE", "/api_keys/key_aaaaaaaaaaaa")]
    public async Task AdminEndpoint_ReturnsForbidden_ForUserKey(string method, string url)
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        using var client = App.CreateClient();

        var response = await client.SendAsync(Request(new HttpMethod(method), url, "Bearer " + key.ApiKey));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("FORBIDDEN"));
    }

    [Test]
    public async Task UserKey_MayListTools()
    {
        var key = await App.CreateKeyAsync();
        using var client = App.CreateClient(key.ApiKey);

        Assert.That((await client.GetAsync("/tools")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.GetAsync("/tools/echo")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task CreatedAdminKey_MayExecuteTools()
    {
        var key = await App.CreateKeyAsync(admin: true);
        using var client = App.CreateClient(key.ApiKey);

        var response = await client.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Health_NeedsNoKey()
    {
        using var client = App.CreateClient();

        var live = await client.GetAsync("/health/live");
        var ready = await client.GetAsync("/health/ready");

        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await ready.ReadObjectAsync()).Str("checks.database"), Is.EqualTo("healthy"));
    }

    [Test]
    public async Task Unauthorized_AnnouncesBearerScheme()
    {
        using var client = App.CreateClient();

        var response = await client.GetAsync("/tools");

        Assert.That(response.Headers.WwwAuthenticate, Does.Contain(new AuthenticationHeaderValue("Bearer")));
    }

    [Test]
    public async Task AKeyFoundForWorkOnItsBehalf_IsGoneOnceRevoked()
    {
        var key = await App.CreateKeyAsync(plan: "pro");
        var keys = App.Services.GetRequiredService<ApiKeyAuthenticator>();

        var found = await keys.FindAsync(key.KeyId, CancellationToken.None);
        Assert.That((found?.KeyId, found?.Plan, found?.IsAdmin), Is.EqualTo((key.KeyId, "pro", false)));
        Assert.That(await keys.FindAsync("key_doesnotexist", CancellationToken.None), Is.Null);
        Assert.That((await keys.FindAsync(ApiKeyIdentity.ConfiguredAdminKeyId, CancellationToken.None))?.IsAdmin, Is.True);

        (await Admin.DeleteAsync($"/api_keys/{key.KeyId}")).EnsureSuccessStatusCode();

        Assert.That(await keys.FindAsync(key.KeyId, CancellationToken.None), Is.Null, "revoked on this node: at once, cached or not");
    }
}
