using System.Net;
using System.Net.Http.Headers;
using System.Text;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Dashboard;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class DashboardTests(TestStorage storage) : ServerTest(storage)
{

    private HttpClient Client(string? scheme, string? parameter)
    {
        var client = App.CreateClient();
        if (scheme is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(scheme, parameter);
        }
        return client;
    }

    private static string Basic(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));

    [Test]
    public async Task AdminKey_OpensTheDashboard_AsBasicAuthPasswordOrBearer()
    {
        using var basic = Client("Basic", Basic("anyone", AgentCorexApp.AdminKey));
        using var bearer = Client("Bearer", AgentCorexApp.AdminKey);
        var created = await App.CreateKeyAsync(admin: true);
        using var createdAdmin = Client("Basic", Basic("ops", created.ApiKey));

        foreach (var client in new[] { basic, bearer, createdAdmin })
        {
            var response = await client.GetAsync("/hangfire");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("AgentCorex jobs"));
        }
    }

    [Test]
    public async Task EveryoneElse_GetsUnauthorized_WithABasicChallenge()
    {
        var user = await App.CreateKeyAsync(plan: "enterprise");
        var revoked = await App.CreateKeyAsync(admin: true);
        await Admin.DeleteAsync($"/api_keys/{revoked.KeyId}");
        var clients = new[]
        {
            Client(null, null),
            Client("Basic", Basic("admin", "wrong")),
            Client("Basic", Basic("admin", user.ApiKey)),
            Client("Bearer", user.ApiKey),
            Client("Basic", Basic("admin", revoked.ApiKey)),
            Client("Basic", "not base64!"),
        };

        foreach (var client in clients)
        {
            foreach (var path in new[] { "/hangfire", "/hangfire/jobs/succeeded", "/hangfire/stats" })
            {
                var response = await client.GetAsync(path);
                Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), path);
                Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.StartWith("Basic realm="));
            }
            client.Dispose();
        }
    }

    [Test]
    public async Task JobPage_ShowsToolOwnerRedactedArgumentsAndResult()
    {
        var key = await App.CreateKeyAsync(name: "reporting bot");
        using var user = App.CreateClient(key.ApiKey);
        var jobId = await user.SubmitAsync("test_nested", new
        {
            target = new { host = "db.internal", port = 5432 },
            tags = new[] { "x" },
            note = "api_token inside a value is fine",
            api_token = "sk-live-do-not-show",
        });
        await user.WaitForStatusAsync(jobId, "completed");
        var hangfireId = await App.HangfireIdAsync(jobId);
        using var admin = Client("Basic", Basic("ops", AgentCorexApp.AdminKey));

        // The ledger says completed a moment before Hangfire moves the job to Succeeded.
        var list = "";
        for (var deadline = DateTime.UtcNow.AddSeconds(10); !list.Contains(jobId, StringComparison.Ordinal) && DateTime.UtcNow < deadline; await Task.Delay(20))
        {
            list = await (await Admin.GetAsync("/hangfire/jobs/succeeded")).Content.ReadAsStringAsync();
        }
        var page = WebUtility.HtmlDecode(await (await Admin.GetAsync($"/hangfire/jobs/details/{hangfireId}")).Content.ReadAsStringAsync());

        Assert.That(list, Does.Contain($"test_nested {jobId}"), "jobs are listed by tool and job id");
        Assert.Multiple(() =>
        {
            Assert.That(page, Does.Contain(jobId));
            Assert.That(page, Does.Contain("reporting bot"));
            Assert.That(page, Does.Contain("db.internal"));
            Assert.That(page, Does.Contain("db.internal:5432"), "the result");
            Assert.That(page, Does.Contain("api_token inside a value is fine"));
            Assert.That(page, Does.Not.Contain("sk-live-do-not-show"));
            Assert.That(page, Does.Contain("[REDACTED]"));
        });
    }

    [TestCase("""{"password":"hunter2","user":"bob"}""", """{"password":"[REDACTED]","user":"bob"}""")]
    [TestCase("""{"auth":{"api_key":"k1","ApiKey":"k2","region":"eu"}}""", """{"auth":{"api_key":"[REDACTED]","ApiKey":"[REDACTED]","region":"eu"}}""")]
    [TestCase("""{"items":[{"client_secret":"s","id":1}],"refresh_token":"t"}""", """{"items":[{"client_secret":"[REDACTED]","id":1}],"refresh_token":"[REDACTED]"}""")]
    [TestCase("""{"message":"my password is hunter2"}""", """{"message":"my password is hunter2"}""")]
    public void Redaction_HidesValuesOfSecretNamedKeys(string arguments, string expected)
    {
        Assert.That(AgentCorex.Web.Dashboard.ArgumentRedaction.Redact(arguments), Is.EqualTo(expected));
    }
}
