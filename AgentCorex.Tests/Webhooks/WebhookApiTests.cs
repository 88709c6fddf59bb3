using System.Net;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>Registering, listing and deleting webhooks, each key seeing only its own.</summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookApiTests(TestStorage storage) : ServerTest(storage)
{
    // Private targets are allowed so that these example hosts need no DNS; WebhookTargetTests covers the refusals.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Network:AllowPrivateTargets"] = "true",
        ["Webhooks:MaxPerKey"] = "3",
    };

    private async Task<HttpClient> NewUserAsync() => App.CreateClient((await App.CreateKeyAsync()).ApiKey);

    [Test]
    public async Task Register_ReturnsTheWebhook_WithAGeneratedSecretShownOnlyThere()
    {
        using var user = await NewUserAsync();

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/jobs", events = new[] { "job.completed", "job.failed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var body = await response.ReadObjectAsync();
        var secret = body.Str("secret")!;
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("webhook_id"), Does.Match("^wh_[a-z0-9]{12}$"));
            Assert.That(body.Str("url"), Is.EqualTo("https://hooks.example/jobs"));
            Assert.That(body["events"]!.AsArray().Select(e => e!.GetValue<string>()), Is.EqualTo(new[] { "job.completed", "job.failed" }));
            Assert.That(secret, Does.Match("^whsec_[A-Za-z0-9+/]+={0,2}$"));
            Assert.That(Convert.FromBase64String(secret["whsec_".Length..]), Has.Length.EqualTo(32));
            Assert.That(body["created_at"]!.GetValue<long>(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
        });
        var listed = await (await user.GetAsync("/webhooks")).Content.ReadAsStringAsync();
        Assert.That(listed, Does.Contain(body.Str("webhook_id")).And.Not.Contain(secret).And.Not.Contain("secret"));
    }

    [Test]
    public async Task Register_KeepsASecretGivenInTheStandardWebhooksForm()
    {
        using var user = await NewUserAsync();
        var secret = "whsec_" + Convert.ToBase64String(Enumerable.Range(0, 24).Select(i => (byte)i).ToArray());

        var body = await (await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/a", events = new[] { "job.queued" }, secret })).ReadObjectAsync();

        Assert.That(body.Str("secret"), Is.EqualTo(secret));
    }

    // .NET's base64 reader skips white space; the Standard Webhooks libraries refuse the secret ("incorrect characters").
    [TestCase(20, " ")]
    [TestCase(20, "\n")]
    [TestCase(20, "\r\n")]
    [TestCase(20, "\t")]
    [TestCase(0, " ")]
    [TestCase(44, " ")]
    public async Task Register_RefusesASecretWithWhiteSpace_ThatReceiversCouldNotDecode(int at, string space)
    {
        using var user = await NewUserAsync();
        var base64 = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var secret = "whsec_" + base64[..at] + space + base64[at..];

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/a", events = new[] { "job.queued" }, secret });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        Assert.That((await response.ReadObjectAsync()).Str("error.argument"), Is.EqualTo("secret"));
    }

    [TestCase("""{"events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"","events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"ftp://hooks.example/a","events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"file:///etc/passwd","events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"/relative","events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"https://user:pw@hooks.example/a","events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"http://93.184.215.14:0/a","events":["job.completed"]}""", "url")]
    [TestCase("""{"url":"https://hooks.example/a"}""", "events")]
    [TestCase("""{"url":"https://hooks.example/a","events":[]}""", "events")]
    [TestCase("""{"url":"https://hooks.example/a","events":"job.completed"}""", "events")]
    [TestCase("""{"url":"https://hooks.example/a","events":["job.completed","job.done"]}""", "events[1]")]
    [TestCase("""{"url":"https://hooks.example/a","events":["job.failed","job.failed"]}""", "events")]
    [TestCase("""{"url":"https://hooks.example/a","events":["job.failed"],"secret":"my-secret-of-forty-characters-or-so-xxxx"}""", "secret")]
    [TestCase("""{"url":"https://hooks.example/a","events":["job.failed"],"secret":"whsec_c2hvcnQ="}""", "secret")]
    [TestCase("""{"url":"https://hooks.example/a","events":["job.failed"],"event":"job.completed"}""", "event")]
    public async Task Register_NamesTheBadField(string request, string field)
    {
        using var user = await NewUserAsync();

        var response = await user.PostRawAsync("/webhooks", request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"), body.ToJsonString());
        Assert.That(body.Str("error.argument"), Is.EqualTo(field), body.ToJsonString());
    }

    [TestCase(" http://93.184.215.14/hook ")]
    [TestCase("http://93.184.215.14/a b")]
    [TestCase("http://93.184.215.14/a\tb\n")]
    [TestCase("http://93.184.215.14/evil\u202Egnp.exe")]
    [TestCase("http://93.184.215.14/a\u200Bb")]
    [TestCase("http://93.184.215.14/tag\U000E0041")]
    public async Task Register_RefusesAUrlWithWhiteSpaceControlOrFormatCharacters_WhichListingsAndDeliveriesWouldNotShowAsGiven(string url)
    {
        using var user = await NewUserAsync();

        var response = await user.PostJsonAsync("/webhooks", new { url, events = new[] { "job.completed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        var body = await response.ReadObjectAsync();
        Assert.That((body.Str("error.argument"), body.Str("error.message")),
            Is.EqualTo(("url", "'url' must not contain white space, control or format characters: percent-encode them")));
    }

    [TestCase("https://user:pw@93.184.215.14/a")]
    [TestCase("https://user@93.184.215.14/a")]
    [TestCase("https://:@93.184.215.14/a")]
    [TestCase("https://@93.184.215.14/a")]
    public async Task Register_RefusesAUrlWithUserInfo_EvenAnEmptyOne(string url)
    {
        using var user = await NewUserAsync();

        var response = await user.PostJsonAsync("/webhooks", new { url, events = new[] { "job.completed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), await response.Content.ReadAsStringAsync());
        var body = await response.ReadObjectAsync();
        Assert.That((body.Str("error.code"), body.Str("error.argument"), body.Str("error.message")),
            Is.EqualTo(("INVALID_ARGUMENTS", "url", "'url' must not contain a user name or password: receivers verify the signature instead")));
    }

    [Test]
    public async Task Register_AcceptsAnAtSignInThePathOrQuery()
    {
        using var user = await NewUserAsync();

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/a@b?to=ops@hooks.example", events = new[] { "job.completed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Register_RefusesAnOverlongUrl()
    {
        using var user = await NewUserAsync();

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/" + new string('a', 2048), events = new[] { "job.failed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.argument"), Is.EqualTo("url"));
    }

    [Test]
    public async Task Register_ReturnsConflict_WhenTheKeyHasAsManyWebhooksAsAllowed()
    {
        using var user = await NewUserAsync();
        for (var i = 0; i < 3; i++)
        {
            await user.RegisterWebhookAsync($"https://hooks.example/{i}", "job.completed");
        }

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/4", events = new[] { "job.completed" } });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("WEBHOOK_LIMIT_REACHED"));
        Assert.That(body.At("error.details.limit")!.GetValue<int>(), Is.EqualTo(3));
    }

    [Test]
    public async Task RegistrationsSentAtOnce_NeverTakeTheKeyPastItsLimit()
    {
        using var user = await NewUserAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            user.PostJsonAsync("/webhooks", new { url = $"https://hooks.example/{i}", events = new[] { "job.completed" } })));

        var listed = (await (await user.GetAsync("/webhooks")).ReadObjectAsync())["webhooks"]!.AsArray();
        Assert.Multiple(() =>
        {
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Created), Is.EqualTo(3));
            Assert.That(responses.Count(r => r.StatusCode == HttpStatusCode.Conflict), Is.EqualTo(9));
            Assert.That(listed, Has.Count.EqualTo(3));
        });
    }

    [Test]
    public async Task AnotherKeysWebhook_IsNotFound_AndNotListed()
    {
        using var owner = await NewUserAsync();
        using var other = await NewUserAsync();
        var webhookId = (await owner.RegisterWebhookAsync("https://hooks.example/mine")).Str("webhook_id")!;

        var deliveries = await other.GetAsync($"/webhooks/{webhookId}/deliveries");
        var get = await other.GetAsync($"/webhooks/{webhookId}");
        var delete = await other.DeleteAsync($"/webhooks/{webhookId}");
        var deliveriesBody = await deliveries.ReadObjectAsync();
        var getBody = await get.ReadObjectAsync();
        var deleteBody = await delete.ReadObjectAsync();
        var list = await (await other.GetAsync("/webhooks")).ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(getBody.ToJsonString(), Is.EqualTo(deleteBody.ToJsonString()), "as DELETE answers it");
            Assert.That(deliveries.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(deliveriesBody.Str("error.code"), Is.EqualTo("WEBHOOK_NOT_FOUND"));
            Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(deleteBody.Str("error.code"), Is.EqualTo("WEBHOOK_NOT_FOUND"));
            Assert.That(list["webhooks"]!.AsArray(), Is.Empty);
        });
        Assert.That((await owner.GetAsync($"/webhooks/{webhookId}/deliveries")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "still there for its owner");
        Assert.That((await owner.GetAsync($"/webhooks/{webhookId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "still there for its owner");
    }

    [Test]
    public async Task Get_ReturnsTheWebhook_AsTheListShowsIt()
    {
        using var user = await NewUserAsync();
        await user.RegisterWebhookAsync("https://hooks.example/other", "job.queued");
        var webhookId = (await user.RegisterWebhookAsync("https://hooks.example/read", "job.failed", "job.timeout")).Str("webhook_id")!;

        var response = await user.GetAsync($"/webhooks/{webhookId}");
        var listed = (await (await user.GetAsync("/webhooks")).ReadObjectAsync())["webhooks"]!.AsArray().Single(w => w.Str("webhook_id") == webhookId)!;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await response.ReadObjectAsync();
        Assert.That((body.Str("webhook_id"), body.Str("url")), Is.EqualTo((webhookId, "https://hooks.example/read")));
        Assert.That(JsonNode.DeepEquals(body, listed), Is.True, $"{body.ToJsonString()} listed as {listed.ToJsonString()}");
        Assert.That(body.ContainsKey("secret"), Is.False, "the secret is shown only at registration");
    }

    [Test]
    public async Task Get_ReturnsNotFound_ForAnUnknownWebhook_AsDeleteDoes()
    {
        using var user = await NewUserAsync();

        var response = await user.GetAsync("/webhooks/wh_doesnotexist1");
        var delete = await user.DeleteAsync("/webhooks/wh_doesnotexist1");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("WEBHOOK_NOT_FOUND"));
        Assert.That(body.ToJsonString(), Is.EqualTo((await delete.ReadObjectAsync()).ToJsonString()));
    }

    [Test]
    public async Task Register_SaysWhereTheWebhookIs_AndThereItsOwnerCanReadIt()
    {
        using var user = await NewUserAsync();

        var response = await user.PostJsonAsync("/webhooks", new { url = "https://hooks.example/located", events = new[] { "job.completed" } });
        var webhookId = (await response.ReadObjectAsync()).Str("webhook_id");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo($"/webhooks/{webhookId}"));
        var read = await user.GetAsync(response.Headers.Location);
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await read.ReadObjectAsync();
        Assert.That((body.Str("webhook_id"), body.Str("url")), Is.EqualTo((webhookId, "https://hooks.example/located")));
    }

    [Test]
    public async Task Delete_RemovesTheWebhook_ThenItIsNotFound()
    {
        using var user = await NewUserAsync();
        var webhookId = (await user.RegisterWebhookAsync("https://hooks.example/gone")).Str("webhook_id")!;

        var first = await user.DeleteAsync($"/webhooks/{webhookId}");
        var second = await user.DeleteAsync($"/webhooks/{webhookId}");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await first.ReadObjectAsync()).Str("webhook_id"), Is.EqualTo(webhookId));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await user.GetAsync($"/webhooks/{webhookId}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await (await user.GetAsync("/webhooks")).ReadObjectAsync())["webhooks"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task Secrets_AreStoredProtected_NeverInClear()
    {
        using var user = await NewUserAsync();
        var created = await user.RegisterWebhookAsync("https://hooks.example/protected");
        var secret = created.Str("secret")!;

        await using var scope = App.Services.CreateAsyncScope();
        var connection = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM webhooks WHERE webhook_id = '{created.Str("webhook_id")}'";
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var value = reader.GetValue(i).ToString()!;
            Assert.That(value, Does.Not.Contain(secret).And.Not.Contain(secret["whsec_".Length..]), $"column {reader.GetName(i)}");
        }
    }
}
