using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>
/// Every JSON answer says <c>Cache-Control: no-store</c>: answers hold results, keys and webhook secrets shown once,
/// and job states that change; errors answered without an exception (a 401, an unknown route) as well as with one.
/// The OpenAPI document is the one JSON answer that may be stored.
/// </summary>
public sealed class CacheControlTests : ServerTest
{
    [Test]
    public async Task EveryJsonAnswer_SaysNoStore_SuccessesAndErrorsAlike()
    {
        var created = await Admin.PostJsonAsync("/api_keys", new { name = "cache", plan = "pro" });
        using var user = App.CreateClient((await created.ReadObjectAsync()).Str("api_key"));
        var jobId = await user.SubmitAsync("echo", new { message = "cached?" });
        using var anonymous = App.CreateClient(apiKey: null);
        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["201 POST /api_keys"] = created,
            ["200 GET /jobs/{id}"] = await user.GetAsync($"/jobs/{jobId}"),
            ["200 GET /jobs"] = await user.GetAsync("/jobs"),
            ["200 POST /execute_tool"] = await Admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "x" } }),
            ["404 GET /jobs/{unknown}"] = await user.GetAsync("/jobs/job_000000000000"),
            ["404 no such route"] = await user.GetAsync("/no/such/route"),
            ["400 POST /jobs/submit"] = await user.PostJsonAsync("/jobs/submit", new { tool = "echo" }),
            ["401 GET /jobs"] = await anonymous.GetAsync("/jobs"),
            ["403 GET /api_keys"] = await user.GetAsync("/api_keys"),
        };

        Assert.Multiple(() =>
        {
            foreach (var (what, answer) in answers)
            {
                Assert.That((int)answer.StatusCode, Is.EqualTo(int.Parse(what[..3])), $"{what}: {answer.Content.ReadAsStringAsync().Result}");
                Assert.That(answer.Headers.CacheControl?.NoStore, Is.True, $"{what}: {answer.Headers.CacheControl}");
            }
        });
    }

    /// <summary>
    /// The OpenAPI document holds nothing of anyone's, so a cache may keep it; but it changes with the server's build
    /// and settings (the bounds of timeout_ms), so a cache asks again before each use: after an upgrade a client reads
    /// the new one, not one a proxy kept by its own heuristics.
    /// </summary>
    [Test]
    public async Task OpenApiDocument_MayBeStored_ButIsAskedForAgainAtEachUse()
    {
        using var anonymous = App.CreateClient(apiKey: null);

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
        {
            using var answer = await anonymous.SendAsync(new HttpRequestMessage(method, "/openapi/v1.json"));

            Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK), method.Method);
            Assert.That(answer.Headers.CacheControl?.ToString(), Is.EqualTo("no-cache"), method.Method);
        }
    }

    /// <summary>
    /// An error thrown to the exception handler is answered after ASP.NET Core's middleware has asked for
    /// <c>no-cache,no-store</c> with <c>Pragma</c> and <c>Expires</c>; a bare status (an unknown route, a wrong method,
    /// a missing key) once carried only <c>no-store</c>. A client or proxy sees one set of headers on every error.
    /// </summary>
    [Test]
    public async Task EveryErrorAnswer_CarriesTheSameCacheHeaders_ThrownOrBare()
    {
        using var anonymous = App.CreateClient(apiKey: null);
        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["thrown: 404 GET /jobs/{unknown}"] = await Admin.GetAsync("/jobs/job_000000000000"),
            ["thrown: 404 POST /execute_tool of an unknown tool"] = await Admin.PostJsonAsync("/execute_tool", new { tool = "no_such_tool", arguments = new { } }),
            ["validation: 400 POST /jobs/submit"] = await Admin.PostJsonAsync("/jobs/submit", new { tool = "echo" }),
            ["bare: 404 no such route"] = await Admin.GetAsync("/no/such/route"),
            ["bare: 405 PUT /jobs/submit"] = await Admin.PutAsync("/jobs/submit", null),
            ["bare: 401 GET /jobs"] = await anonymous.GetAsync("/jobs"),
        };

        Assert.Multiple(() =>
        {
            foreach (var (what, answer) in answers)
            {
                Assert.That(answer.IsSuccessStatusCode, Is.False, what);
                Assert.That(answer.Headers.CacheControl is { NoCache: true, NoStore: true }, Is.True, $"{what}: {answer.Headers.CacheControl}");
                Assert.That(answer.Headers.Pragma.ToString(), Is.EqualTo("no-cache"), what);
                Assert.That(answer.Content.Headers.TryGetValues("Expires", out var expires) ? string.Join(",", expires) : null, Is.EqualTo("-1"), what);
            }
        });
    }
}
