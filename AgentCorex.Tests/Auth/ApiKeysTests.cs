using System.Net;
using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Auth;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ApiKeysTests(TestStorage storage) : ServerTest(storage)
{

    [Test]
    public async Task Create_ReturnsKeyOnce_WithItsProperties()
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name = "ci bot", plan = "pro" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var body = await response.ReadObjectAsync();
        Assert.Multiple(() =>
        {
            Assert.That(body.Str("key_id"), Does.Match("^key_[a-z0-9]{12}$"));
            Assert.That(body.Str("api_key"), Does.Match("^acx_[a-z0-9]{12}_[a-z0-9]{40}$"));
            Assert.That(body.Str("name"), Is.EqualTo("ci bot"));
            Assert.That(body.Str("plan"), Is.EqualTo("pro"));
            Assert.That(body["admin"]!.GetValue<bool>(), Is.False);
            Assert.That(body["created_at"]!.GetValue<long>(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
        });
    }

    [TestCase("""{"plan":"free"}""", "name")]
    [TestCase("""{"name":"","plan":"free"}""", "name")]
    [TestCase("""{"name":"x"}""", "plan")]
    [TestCase("""{"name":"x","plan":"gold"}""", "plan")]
    [TestCase("""{"name":"x","plan":"free","admin":"yes"}""", "admin")]
    [TestCase("""{"name":"x","plan":"free","rate_limit":{"max_concurrent":3}}""", "rate_limit")]
    [TestCase("""{"name":"x","plan":"free","rate_limits":{"max_concurent":3}}""", "rate_limits.max_concurent")]
    public async Task Create_NamesTheBadField(string request, string field)
    {
        var response = await Admin.PostRawAsync("/api_keys", request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo(field));
    }

    [Test]
    public async Task Create_RejectsOverlongName()
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name = new string('n', 101), plan = "free" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.argument"), Is.EqualTo("name"));
    }

    [TestCase("nul\u0000byte")]
    [TestCase("two\nlines")]
    [TestCase("a\ttab")]
    [TestCase("trailing newline\n")]
    [TestCase("del\u007f")]
    [TestCase("c1\u0085control")]
    public async Task Create_RefusesControlCharactersInTheName(string name)
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name, plan = "free" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo("name"));
        Assert.That(body.Str("error.message"), Does.Contain("control characters"));
    }

    [Test]
    public async Task Create_KeepsANameOfAnyOtherCharacters()
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name = "ci bot: café — ✓ 🤖", plan = "free" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That((await response.ReadObjectAsync()).Str("name"), Is.EqualTo("ci bot: café — ✓ 🤖"));
    }

    [Test]
    public async Task List_ShowsKeys_ButNeverTheKeyOrItsHash()
    {
        var created = await App.CreateKeyAsync(plan: "enterprise");

        var response = await Admin.GetAsync("/api_keys");
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var listed = (await response.ReadObjectAsync())["api_keys"]!.AsArray().Single(k => k.Str("key_id") == created.KeyId);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Str("plan"), Is.EqualTo("enterprise"));
            Assert.That(listed.Str("name"), Is.EqualTo(created.Name));
            Assert.That(text, Does.Not.Contain(created.ApiKey));
            Assert.That(text, Does.Not.Contain(created.ApiKey.Split('_')[2]));
            Assert.That(text, Does.Not.Contain("hash"));
        });
    }

    [Test]
    public async Task Keys_AreStoredHashed_NeverInClear()
    {
        var created = await App.CreateKeyAsync();
        var secret = created.ApiKey.Split('_')[2];

        // Read the row as the database holds it, whichever database the server runs on.
        await using var scope = App.Services.CreateAsyncScope();
        var connection = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.GetDbConnection();
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT * FROM api_keys WHERE key_id = @id";
        var id = command.CreateParameter();
        id.ParameterName = "@id";
        id.Value = created.KeyId;
        command.Parameters.Add(id);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.That(await reader.ReadAsync(), Is.True);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var value = reader.GetValue(i);
            var asText = value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : value.ToString();
            Assert.That(asText, Does.Not.Contain(secret), $"column {reader.GetName(i)}");
        }
    }

    [Test]
    public async Task Revoke_MarksKeyRevoked_AndIsIdempotent()
    {
        var created = await App.CreateKeyAsync();

        var first = await Admin.DeleteAsync($"/api_keys/{created.KeyId}");
        var second = await Admin.DeleteAsync($"/api_keys/{created.KeyId}");

        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var firstBody = await first.ReadObjectAsync();
        var secondBody = await second.ReadObjectAsync();
        Assert.That(firstBody["revoked_at"]!.GetValue<long>(), Is.EqualTo(secondBody["revoked_at"]!.GetValue<long>()));
    }

    [Test]
    public async Task Patch_RefusesARevokedKey_AndLeavesItAsItWas()
    {
        var created = await App.CreateKeyAsync(plan: "free");
        (await Admin.DeleteAsync($"/api_keys/{created.KeyId}")).EnsureSuccessStatusCode();

        var response = await Admin.PatchAsJsonAsync($"/api_keys/{created.KeyId}", new { plan = "pro", rate_limits = new { max_concurrent = 3 } });
        var listed = (await (await Admin.GetAsync("/api_keys")).ReadObjectAsync())["api_keys"]!.AsArray().Single(k => k.Str("key_id") == created.KeyId);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("API_KEY_REVOKED"));
        Assert.That(listed.Str("plan"), Is.EqualTo("free"));
        Assert.That(listed.At("rate_limits.max_concurrent")!.GetValue<int>(), Is.EqualTo(1), "the free plan's");
    }

    [Test]
    public async Task Patch_ChangesTheName_AndNothingElse()
    {
        var created = await App.CreateKeyAsync(plan: "free");

        var response = await Admin.PatchAsJsonAsync($"/api_keys/{created.KeyId}", new { name = "  nightly reports  " });
        var listed = (await (await Admin.GetAsync("/api_keys")).ReadObjectAsync())["api_keys"]!.AsArray().Single(k => k.Str("key_id") == created.KeyId);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await response.ReadObjectAsync()).Str("name"), Is.EqualTo("nightly reports"));
        Assert.That(listed.Str("name"), Is.EqualTo("nightly reports"));
        Assert.That(listed.Str("plan"), Is.EqualTo("free"));
        Assert.That(listed.At("rate_limits.max_concurrent")!.GetValue<int>(), Is.EqualTo(1), "the free plan's");
    }

    [TestCase("   ", "must not be blank")]
    [TestCase("", "must not be blank")]
    [TestCase(@"a\u0000b", "control characters")]
    [TestCase(@"a\nb", "control characters")]
    public async Task Patch_RefusesABadName(string name, string message)
    {
        var created = await App.CreateKeyAsync();

        var response = await Admin.PatchRawAsync($"/api_keys/{created.KeyId}", $$"""{"name":"{{name}}"}""");
        var error = await response.ReadObjectAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(error.Str("error.argument"), Is.EqualTo("name"));
        Assert.That(error.Str("error.message"), Does.Contain(message));
    }

    [Test]
    public async Task Patch_RefusesAFieldItDoesNotHave_AndChangesNothing()
    {
        var created = await App.CreateKeyAsync(plan: "free");

        var response = await Admin.PatchRawAsync($"/api_keys/{created.KeyId}", """{"plan":"pro","max_concurrent":3}""");
        var error = await response.ReadObjectAsync();
        var listed = (await (await Admin.GetAsync("/api_keys")).ReadObjectAsync())["api_keys"]!.AsArray().Single(k => k.Str("key_id") == created.KeyId);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(error.Str("error.argument"), Is.EqualTo("max_concurrent"));
        Assert.That(error.Str("error.message"), Is.EqualTo("'max_concurrent' is not a field of this request; its fields are name, plan, rate_limits, reset_rate_limits"));
        Assert.That(listed.Str("plan"), Is.EqualTo("free"));
    }

    [Test]
    public async Task Patch_RacingARevocation_ChangesNothing()
    {
        var created = await App.CreateKeyAsync(plan: "free");
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        // A revocation written but not yet committed: the PATCH reads the key as not revoked, and its write waits for
        // the revocation's lock (the database's on SQLite, the row's on PostgreSQL).
        await using var revocation = await db.Database.BeginTransactionAsync();
        await db.ApiKeys.Where(k => k.Id == created.KeyId).ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, DateTime.UtcNow));

        var patch = Admin.PatchAsJsonAsync($"/api_keys/{created.KeyId}", new { plan = "pro", name = "renamed" });
        await Task.Delay(500);
        Assert.That(patch.IsCompleted, Is.False, "the PATCH waits for the revocation's lock");
        await revocation.CommitAsync();
        var response = await patch;
        var key = await db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == created.KeyId);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("API_KEY_REVOKED"));
        Assert.That((key.Plan, key.Name), Is.EqualTo(("free", created.Name)));
    }

    [Test]
    public async Task Revoke_ReturnsNotFound_ForUnknownKey()
    {
        var response = await Admin.DeleteAsync("/api_keys/key_doesnotexist");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That((await response.ReadObjectAsync()).Str("error.code"), Is.EqualTo("API_KEY_NOT_FOUND"));
    }
}
