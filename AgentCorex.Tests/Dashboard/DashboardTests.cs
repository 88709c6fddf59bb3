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
    public async Task FailedList_ShowsAFailedToolJob()
    {
        using var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var jobId = await user.SubmitAsync("fail", new { message = "the failed list shows me" });
        await user.WaitForStatusAsync(jobId, "failed");

        // The ledger says failed a moment before Hangfire moves the job to Failed.
        var (status, page) = (HttpStatusCode.OK, "");
        for (var deadline = DateTime.UtcNow.AddSeconds(10); status == HttpStatusCode.OK && !page.Contains(jobId, StringComparison.Ordinal) && DateTime.UtcNow < deadline; await Task.Delay(20))
        {
            var response = await Admin.GetAsync("/hangfire/jobs/failed");
            (status, page) = (response.StatusCode, WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()));
        }

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), page);
        Assert.That(page, Does.Contain($"fail {jobId}").And.Contain("the failed list shows me"));
    }

    [Test]
    public async Task EveryAnswerOfTheDashboard_ForbidsFramingSniffingAndOtherSitesScripts()
    {
        using var admin = Client("Basic", Basic("ops", AgentCorexApp.AdminKey));
        using var anonymous = Client(null, null);
        anonymous.DefaultRequestHeaders.Accept.ParseAdd("text/html");
        var answers = new Dictionary<string, HttpResponseMessage>
        {
            ["a page"] = await admin.GetAsync("/hangfire/jobs/succeeded"),
            ["the login form"] = await anonymous.GetAsync("/hangfire/login"),
            ["the 401 with the form"] = await anonymous.GetAsync("/hangfire"),
            ["an error"] = await admin.GetAsync("/hangfire/stats"),
            ["a command refused"] = await admin.PostAsync("/hangfire/jobs/enqueued/delete", new FormUrlEncodedContent([new("jobs[]", "x")])),
        };

        foreach (var (what, response) in answers)
        {
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(),
                Does.Contain("frame-ancestors 'none'").And.Contain("script-src 'self';").And.Contain("object-src 'none'"), what);
            Assert.That(response.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"), what);
            Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"), what);
            Assert.That(response.Headers.GetValues("Referrer-Policy").Single(), Is.EqualTo("no-referrer"), what);
            response.Dispose();
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
    public async Task Stats_AskedWithoutAForm_IsAClientError_InTheContractsShape()
    {
        using var admin = Client("Basic", Basic("ops", AgentCorexApp.AdminKey));
        var badRequests = new Dictionary<string, HttpContent?>
        {
            ["no body"] = null,
            ["JSON"] = new StringContent("""{"metrics":["succeeded:count"]}""", Encoding.UTF8, "application/json"),
            ["multipart without a boundary"] = new StringContent("metrics[]=x", Encoding.UTF8, "multipart/form-data"),
            ["more values than a form may hold"] = new FormUrlEncodedContent(Enumerable.Repeat(new KeyValuePair<string, string>("metrics[]", "x"), 2_000)),
            ["multipart cut short"] = Multipart("--b\r\nContent-Disposition: form-data; name=\"metrics[]\"\r\n\r\nsucc"),
        };

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            var response = await admin.SendAsync(new HttpRequestMessage(method, "/hangfire/stats"));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed), method.Method);
            Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"));
            Assert.That(response.Content.Headers.Allow, Is.EqualTo(new[] { "POST" }));
        }
        foreach (var (what, content) in badRequests)
        {
            var response = await admin.PostAsync("/hangfire/stats", content);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), what);
            Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("INVALID_REQUEST"), what);
        }
        var asked = await admin.PostAsync("/hangfire/stats", new FormUrlEncodedContent([new("metrics[]", "succeeded:count")]));
        Assert.That(asked.StatusCode, Is.EqualTo(HttpStatusCode.OK), "as the dashboard's own pages ask");
        Assert.That((await asked.ReadObjectAsync())["succeeded:count"], Is.Not.Null);
    }

    [Test]
    public async Task Commands_OnTheReadOnlyDashboard_AreForbiddenForAnAdmin_AndTakePostOnly()
    {
        using var admin = Client("Basic", Basic("ops", AgentCorexApp.AdminKey));
        var commands = new[]
        {
            "/hangfire/jobs/actions/requeue/11",
            "/hangfire/jobs/actions/delete/11",
            "/hangfire/jobs/failed/requeue",
            "/hangfire/jobs/succeeded/requeue",
            "/hangfire/jobs/enqueued/delete",
            "/hangfire/recurring/trigger",
        };

        foreach (var command in commands)
        {
            foreach (var form in new HttpContent?[] { null, new FormUrlEncodedContent([new("jobs[]", "11")]) })
            {
                var refused = await admin.PostAsync(command, form);
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), command);
                Assert.That((await refused.ReadObjectAsync()).Str("error.code"), Is.EqualTo("FORBIDDEN"), command);
                Assert.That(refused.Headers.WwwAuthenticate, Is.Empty, "no login prompt: the login was fine");
            }
            var get = await admin.GetAsync(command);
            Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed), command);
            Assert.That((await get.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"), command);
        }
    }

    [Test]
    public async Task PagesAndFiles_TakeGetAndHead_AndAnyOtherMethodIs405_OnceTheKeyIsChecked()
    {
        using var admin = Client("Basic", Basic("ops", AgentCorexApp.AdminKey));
        using var anonymous = Client(null, null);
        // Hangfire's home and a list, a job's page, its combined scripts, a font, and a page of ours.
        var routes = new[] { "/hangfire", "/hangfire/jobs/succeeded", "/hangfire/jobs/details/11", "/hangfire/js1", "/hangfire/fonts/glyphicons-halflings-regular/woff2", "/hangfire/tools" };
        var others = new[] { HttpMethod.Trace, HttpMethod.Put, HttpMethod.Post, HttpMethod.Delete, HttpMethod.Patch, HttpMethod.Options };

        foreach (var route in routes)
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Head })
            {
                Assert.That((await admin.SendAsync(new HttpRequestMessage(method, route))).StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{method} {route}");
            }
            foreach (var method in others)
            {
                var refused = await admin.SendAsync(new HttpRequestMessage(method, route));
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.MethodNotAllowed), $"{method} {route}");
                Assert.That(refused.Content.Headers.Allow, Is.EqualTo(new[] { "GET", "HEAD" }), $"{method} {route}");
                Assert.That((await refused.ReadObjectAsync()).Str("error.code"), Is.EqualTo("METHOD_NOT_ALLOWED"), $"{method} {route}");
                var anonymousAsked = await anonymous.SendAsync(new HttpRequestMessage(method, route));
                Assert.That(anonymousAsked.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), $"{method} {route} without a key");
            }
        }
        // Hangfire has no 404 of its own: it passes a path it lacks on, to the app's.
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put })
        {
            var missing = await admin.SendAsync(new HttpRequestMessage(method, "/hangfire/no/such/page"));
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"{method} of a route the dashboard lacks");
            Assert.That((await missing.ReadObjectAsync()).Str("error.code"), Is.EqualTo("NOT_FOUND"), $"{method} of a route the dashboard lacks");
        }
    }

    [Test]
    public async Task Pages_NameTheirLanguage_AsEnglish()
    {
        using var admin = App.CreateDashboardClient();
        // Hangfire's layout writes the UI culture's two-letter name, which was the invariant culture's "iv".
        foreach (var page in new[] { "", "/jobs/succeeded", "/tools" })
        {
            Assert.That(await admin.GetPageAsync(page), Does.Contain("<html lang=\"en\">"), page);
        }
    }

    private static ByteArrayContent Multipart(string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        return content;
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
    [TestCase("""{"api key":"k1","Private Key":"k2","passphrase":"p1","pass-phrase":"p2","region":"eu"}""", """{"api key":"[REDACTED]","Private Key":"[REDACTED]","passphrase":"[REDACTED]","pass-phrase":"[REDACTED]","region":"eu"}""")]
    [TestCase("""{"apiKey":"k1","X-Api-Key":"k2","private_key":"k3"}""", """{"apiKey":"[REDACTED]","X-Api-Key":"[REDACTED]","private_key":"[REDACTED]"}""")]
    [TestCase("""{"access_token":"t1","accessToken":"t2","tokens":["t3"],"id_token":"t4","token":"t5"}""", """{"access_token":"[REDACTED]","accessToken":"[REDACTED]","tokens":"[REDACTED]","id_token":"[REDACTED]","token":"[REDACTED]"}""")]
    [TestCase("""{"max_tokens":5,"maxOutputTokens":6,"tokens_used":7,"token_count":8,"max completion tokens":9}""", """{"max_tokens":5,"maxOutputTokens":6,"tokens_used":7,"token_count":8,"max completion tokens":9}""")]
    [TestCase("""{"secret_token_count":1,"max_tokens_password":"p"}""", """{"secret_token_count":"[REDACTED]","max_tokens_password":"[REDACTED]"}""")]
    public void Redaction_HidesValuesOfSecretNamedKeys(string arguments, string expected)
    {
        Assert.That(AgentCorex.Web.Dashboard.ArgumentRedaction.Redact(arguments), Is.EqualTo(expected));
    }

    // What an operator expects hidden besides: more names of credentials, pairs whose name is one (environment
    // variables, headers as a list), and a secret inside a value, with the rest of the value still shown.
    [TestCase("""{"aws_access_key_id":"AKIA1","SharedAccessKey":"k","AccountKey":"k2","cookie":"sid=1","Set-Cookie":"a=b","connectionString":"c","auth":"u:p","pass":"p","passwd":"p2","author":"ann"}""",
        """{"aws_access_key_id":"[REDACTED]","SharedAccessKey":"[REDACTED]","AccountKey":"[REDACTED]","cookie":"[REDACTED]","Set-Cookie":"[REDACTED]","connectionString":"[REDACTED]","auth":"[REDACTED]","pass":"[REDACTED]","passwd":"[REDACTED]","author":"ann"}""")]
    [TestCase("""{"env":[{"name":"DB_PASSWORD","value":"pw1"},{"name":"REGION","value":"eu"}],"headers":[{"Name":"Authorization","Value":"x"}],"tags":[{"Key":"api_key","Value":"k"}]}""",
        """{"env":[{"name":"DB_PASSWORD","value":"[REDACTED]"},{"name":"REGION","value":"eu"}],"headers":[{"Name":"Authorization","Value":"[REDACTED]"}],"tags":[{"Key":"api_key","Value":"[REDACTED]"}]}""")]
    [TestCase("""{"headers":{"X-Upstream":"Bearer abcdefghijklmnop1234"},"list":["Basic dXNlcjpwYXNz"],"plan":"Basic plan","note":"Bearer bonds"}""",
        """{"headers":{"X-Upstream":"[REDACTED]"},"list":["[REDACTED]"],"plan":"Basic plan","note":"Bearer bonds"}""")]
    [TestCase("""{"db":"postgres://app:hunter2@db.internal:5432/x","url":"https://h.example/cb?id=7&access_token=t0k&page=2","plain":"https://h.example:8443/a@b"}""",
        """{"db":"postgres://app:[REDACTED]@db.internal:5432/x","url":"https://h.example/cb?id=7&access_token=[REDACTED]&page=2","plain":"https://h.example:8443/a@b"}""")]
    [TestCase("""{"target":"Host=db;Username=app;Password=hunter2;Database=x","other":"Server=s; User Password = p w; Pooling=true","math":"let x=1; y=2"}""",
        """{"target":"Host=db;Username=app;Password=[REDACTED];Database=x","other":"Server=s; User Password=[REDACTED]; Pooling=true","math":"let x=1; y=2"}""")]
    [TestCase("""["Bearer abcdefghijklmnop1234",{"a":[["password=x"]]}]""", """["[REDACTED]",{"a":[["password=[REDACTED]"]]}]""")]
    [TestCase("\"postgres://u:p@h/d\"", "\"postgres://u:[REDACTED]@h/d\"")]
    [TestCase("""{"bundle":"cert\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\nend","cut":"-----BEGIN PRIVATE KEY-----\nMIIE","cert":"-----BEGIN CERTIFICATE-----\nMIIC"}""",
        """{"bundle":"cert\n[REDACTED]\nend","cut":"[REDACTED]","cert":"-----BEGIN CERTIFICATE-----\nMIIC"}""")]
    [TestCase("""{"note":"sent eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln to it","id":"eyJ-not-a-token"}""",
        """{"note":"sent [REDACTED] to it","id":"eyJ-not-a-token"}""")]
    public void Redaction_HidesCredentialsAnOperatorWouldExpectHidden(string arguments, string expected)
    {
        Assert.That(AgentCorex.Web.Dashboard.ArgumentRedaction.Redact(arguments), Is.EqualTo(expected));
    }

    // An HTTP credential inside a longer value, the rest of it shown: after an Authorization header's name any credential
    // is one; elsewhere a Bearer token of 16 characters or more and a Basic one that decodes to user:password, so that
    // prose ("the bearer of", "Bearer bonds", "Basic plan", "basic idea") stays as it is.
    [TestCase("""{"message":"Authorization: Bearer abcdefghijklmnopqrstuvwx","short":"Proxy-Authorization:bearer abc"}""",
        """{"message":"Authorization: [REDACTED]","short":"Proxy-Authorization:[REDACTED]"}""")]
    [TestCase("""{"cmd":"curl -H \"Authorization: Basic dXNlcjpwYXNzd29yZA==\" https://h.example/x"}""",
        """{"cmd":"curl -H \"Authorization: [REDACTED]\" https://h.example/x"}""")]
    [TestCase("""{"log":"called with Bearer sk_live_abcdef0123456789 from ci; the bearer of it is the Basic plan's bot"}""",
        """{"log":"called with [REDACTED] from ci; the bearer of it is the Basic plan's bot"}""")]
    [TestCase("""["headers:\nX-Upstream: Basic YWRtaW46aHVudGVyMg==\nAccept: */*","Bearer bonds and a basic idea; bearer abcdefghijklmnop1234 too"]""",
        """["headers:\nX-Upstream: [REDACTED]\nAccept: */*","Bearer bonds and a basic idea; [REDACTED] too"]""")]
    [TestCase("""{"cmd":"gh api -H 'Authorization: token ghp_16CharactersOrSo' /user; Authorization:abc123; then"}""",
        """{"cmd":"gh api -H 'Authorization: [REDACTED]' /user; Authorization:[REDACTED]; then"}""")]
    public void Redaction_HidesAnHttpCredentialInsideALongerValue_AndShowsTheRest(string arguments, string expected)
    {
        Assert.That(AgentCorex.Web.Dashboard.ArgumentRedaction.Redact(arguments), Is.EqualTo(expected));
    }

    /// <summary>
    /// A key's arguments are shown to operators: a value made to make the redaction's patterns backtrack (each of many
    /// starting points scanning to the end) must not hold the job's page, and the thread Hangfire renders it on, for ever.
    /// </summary>
    [TestCase("a+", "://x:")]
    [TestCase("eyJ-", "")]
    [TestCase("-----BEGIN A", "")]
    [TestCase(";a a", "")]
    [TestCase("Authorization: Basic YTpi ", "")]
    public void Redaction_TakesLinearTime_OnAValueMadeToBacktrack(string repeated, string end)
    {
        var value = string.Concat(Enumerable.Repeat(repeated, 1_000_000 / repeated.Length)) + end;
        var arguments = System.Text.Json.JsonSerializer.Serialize(new { note = value });

        var redaction = Task.Run(() => AgentCorex.Web.Dashboard.ArgumentRedaction.Redact(arguments));

        Assert.That(redaction.Wait(TimeSpan.FromSeconds(5)), Is.True, "the redaction of a 1,000,000-character value ended");
    }
}
