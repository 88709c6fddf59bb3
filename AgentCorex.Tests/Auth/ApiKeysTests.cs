using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Auth;

[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ApiKeysTests(TestStorage storage) : ServerTest(storage)
{
    private const string Refused = "'name' must not contain control characters, format characters (bidi controls, zero-width characters) or line separators";
    private const string Blank = "'name' must not be blank";

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
    public async Task Create_NamesABadLimitByItsPath_InTheMessageToo()
    {
        var response = await Admin.PostRawAsync("/api_keys", """{"name":"x","plan":"free","rate_limits":{"max_concurrent":0}}""");

        var error = await response.ReadObjectAsync();
        Assert.That((error.Str("error.argument"), error.Str("error.message")),
            Is.EqualTo(("rate_limits.max_concurrent", "'rate_limits.max_concurrent' must be between 1 and 10000. You entered 0.")));
    }

    // KeyRateLimitsRequest's bookkeeping of which limits were given: [JsonIgnore] properties, no fields of the request.
    [TestCase("gives_requests_per_minute", "\"x\"")]
    [TestCase("own_requests_per_minute", "5")]
    [TestCase("gives_max_concurrent", "true")]
    [TestCase("own_max_concurrent", "{\"limit\":3}")]
    public async Task CreateAndPatch_RefuseTheLimitsBookkeeping_AsFieldsTheyDoNotHave(string name, string value)
    {
        var created = await App.CreateKeyAsync(plan: "free");

        var create = await Admin.PostRawAsync("/api_keys", $$$"""{"name":"g","plan":"free","rate_limits":{"{{{name}}}":{{{value}}}}}""");
        var patch = await Admin.PatchRawAsync($"/api_keys/{created.KeyId}", $$$"""{"plan":"pro","rate_limits":{"{{{name}}}":{{{value}}}}}""");
        var listed = await (await Admin.GetAsync($"/api_keys/{created.KeyId}")).ReadObjectAsync();

        foreach (var response in new[] { create, patch })
        {
            var error = await response.ReadObjectAsync();
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), error.ToJsonString());
            Assert.That(error.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
            Assert.That(error.Str("error.argument"), Is.EqualTo($"rate_limits.{name}"));
            Assert.That(error.Str("error.message"), Is.EqualTo($"'rate_limits.{name}' is not a field of this request; its fields are requests_per_minute, max_concurrent"));
        }
        Assert.That(listed.Str("plan"), Is.EqualTo("free"), "the PATCH changed nothing");
    }

    [Test]
    public async Task Create_RefusingAMisspeltLimit_ListsOnlyTheLimitsFields()
    {
        var response = await Admin.PostRawAsync("/api_keys", """{"name":"g","plan":"free","rate_limits":{"max_concurent":3}}""");

        Assert.That((await response.ReadObjectAsync()).Str("error.message"),
            Is.EqualTo("'rate_limits.max_concurent' is not a field of this request; its fields are requests_per_minute, max_concurrent"));
    }

    [Test]
    public async Task Create_RejectsOverlongName()
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name = new string('n', 101), plan = "free" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((await response.ReadObjectAsync()).Str("error.argument"), Is.EqualTo("name"));
    }

    [TestCase("nul\u0000byte", Refused)]
    [TestCase("two\nlines", Refused)]
    [TestCase("a\ttab", Refused)]
    [TestCase("trailing newline\n", Refused)]
    [TestCase("del\u007f", Refused)]
    [TestCase("c1\u0085control", Refused)]
    [TestCase("line\u2028separator", Refused)]
    [TestCase("paragraph\u2029separator", Refused)]
    [TestCase("evil\u202Egnp.exe", Refused)]
    [TestCase("zero\u200Bwidth", Refused)]
    [TestCase("\u200B", Refused)]
    [TestCase("\uFEFFbom", Refused)]
    [TestCase("isolate\u2067d", Refused)]
    [TestCase("\u3164", Blank)]
    [TestCase("\u00A0\u3164\u3000", Blank)]
    [TestCase("\uFE0F", Blank)]
    [TestCase("\u115F \u1160", Blank)]
    [TestCase("\u200D\u200C", Blank)]
    public async Task Create_RefusesControlFormatAndSeparatorCharactersInTheName_AndANameWithNothingVisible(string name, string message)
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name, plan = "free" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo("name"));
        Assert.That(body.Str("error.message"), Is.EqualTo(message));
    }

    [TestCase("ci bot: café — ✓ 🤖")]
    [TestCase("\u2764\uFE0F ops")]
    [TestCase("\u3164x")]
    [TestCase("family \U0001F468\u200D\U0001F469\u200D\U0001F467")] // an emoji sequence joined by U+200D
    [TestCase("\u0645\u06CC\u200C\u0631\u0648\u062F")] // Persian, a zero-width non-joiner within the word
    public async Task Create_KeepsANameOfAnyOtherCharacters(string name)
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name, plan = "free" });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        Assert.That((await response.ReadObjectAsync()).Str("name"), Is.EqualTo(name));
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

    /// <summary>The configured Auth:AdminKey stays whatever is revoked (LastAdminKeyTests: without it, the last admin key is kept).</summary>
    [Test]
    public async Task Revoke_OfTheLastStoredAdminKey_ByItself_IsAllowed_WhenAuthAdminKeyIsConfigured()
    {
        var created = await App.CreateKeyAsync(admin: true);
        await using (var scope = App.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().ApiKeys
                .Where(k => k.IsAdmin && k.RevokedAt == null && k.Id != created.KeyId)
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, DateTime.UtcNow));
        }
        using var itself = App.CreateClient(created.ApiKey);

        var response = await itself.DeleteAsync($"/api_keys/{created.KeyId}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), (await response.ReadObjectAsync()).ToJsonString());
        Assert.That((await Admin.GetAsync("/api_keys")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the configured key administers the server");
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
    [TestCase(@"evil\u202Egnp.exe", "format characters")]
    [TestCase(@"a\u2028b", "line separators")]
    [TestCase(@"\u200B", "format characters")]
    [TestCase(@"\u3164", "must not be blank")]
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

    [Test]
    public async Task List_PagesNewestFirst_WithTheTotal()
    {
        var before = await TotalAsync();
        var created = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            created.Add((await App.CreateKeyAsync()).KeyId);
        }

        var first = await (await Admin.GetAsync("/api_keys?limit=2")).ReadObjectAsync();
        var second = await (await Admin.GetAsync("/api_keys?limit=2&offset=2")).ReadObjectAsync();
        var third = await (await Admin.GetAsync("/api_keys?limit=2&offset=4")).ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(KeyIds(first), Is.EqualTo(new[] { created[4], created[3] }));
            Assert.That(KeyIds(second), Is.EqualTo(new[] { created[2], created[1] }));
            Assert.That(KeyIds(third)[0], Is.EqualTo(created[0]));
            Assert.That(Pagination(first), Is.EqualTo((2, 0, before + 5)));
            Assert.That(Pagination(second), Is.EqualTo((2, 2, before + 5)));
            Assert.That(Pagination(third), Is.EqualTo((2, 4, before + 5)));
        });
    }

    [Test]
    public async Task List_WithoutParameters_IsTheFirstTwentyKeys()
    {
        for (var i = 0; i < 21; i++)
        {
            await App.CreateKeyAsync();
        }

        var body = await (await Admin.GetAsync("/api_keys")).ReadObjectAsync();

        Assert.That(body["api_keys"]!.AsArray(), Has.Count.EqualTo(20));
        Assert.That(Pagination(body), Is.EqualTo((20, 0, await TotalAsync())));
    }

    [Test]
    public async Task List_TheLastPage_HoldsTheOldestKeys_AndPastItNone()
    {
        // The oldest a key can be: no other key of this server is older.
        var oldest = await StoreKeysCreatedAtAsync(DateTime.UnixEpoch, 1);
        await App.CreateKeyAsync();
        var total = await TotalAsync();

        var last = await (await Admin.GetAsync($"/api_keys?limit=3&offset={total - 1}")).ReadObjectAsync();
        var past = await (await Admin.GetAsync($"/api_keys?limit=3&offset={total}")).ReadObjectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(KeyIds(last), Is.EqualTo(oldest));
            Assert.That(Pagination(last), Is.EqualTo((3, total - 1, total)));
            Assert.That(KeyIds(past), Is.Empty);
            Assert.That(Pagination(past), Is.EqualTo((3, total, total)));
        });
    }

    [Test]
    public async Task List_KeysCreatedAtTheSameMoment_AreOrderedByKeyId_AndNoPageRepeatsOne()
    {
        // Older than any key the API makes: the listing's last three but for those another test stored older still.
        var moment = new DateTime(1990, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        var tied = await StoreKeysCreatedAtAsync(moment, 3);
        var first = await TotalAsync() - 3 - await CountKeysOlderThanAsync(moment);

        var pages = new List<string>();
        for (var offset = first; offset < first + 3; offset++)
        {
            pages.AddRange(KeyIds(await (await Admin.GetAsync($"/api_keys?limit=1&offset={offset}")).ReadObjectAsync()));
        }

        Assert.That(pages, Is.EqualTo(tied.OrderDescending(StringComparer.Ordinal)));
    }

    [Test]
    public async Task List_ShowsRevokedKeys_WithWhenTheyWereRevoked()
    {
        var created = await App.CreateKeyAsync();
        (await Admin.DeleteAsync($"/api_keys/{created.KeyId}")).EnsureSuccessStatusCode();

        var listed = (await (await Admin.GetAsync("/api_keys?limit=1")).ReadObjectAsync())["api_keys"]!.AsArray().Single()!;

        Assert.That(listed.Str("key_id"), Is.EqualTo(created.KeyId));
        Assert.That(listed["revoked_at"]!.GetValue<long>(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
    }

    /// <summary>The same answer, to the byte, as GET /jobs gives the same bad page: one binder, one set of rules.</summary>
    [TestCase("limit=0", "limit")]
    [TestCase("limit=101", "limit")]
    [TestCase("limit=-1", "limit")]
    [TestCase("limit=abc", "limit")]
    [TestCase("limit=0x10", "limit")]
    [TestCase("limit=", "limit")]
    [TestCase("limit=5&limit=6", "limit")]
    [TestCase("limit=99999999999", "limit")]
    [TestCase("offset=-1", "offset")]
    [TestCase("offset=", "offset")]
    [TestCase("offset=1.5", "offset")]
    [TestCase("offset=0&offset=0", "offset")]
    public async Task List_RefusesABadPage_NamingTheParameter_AsGetJobsDoes(string query, string parameter)
    {
        var response = await Admin.GetAsync($"/api_keys?{query}");
        var jobs = await Admin.GetAsync($"/jobs?{query}");
        var body = await response.ReadObjectAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(body.Str("error.code"), Is.EqualTo("INVALID_ARGUMENTS"));
        Assert.That(body.Str("error.argument"), Is.EqualTo(parameter));
        Assert.That(body.ToJsonString(), Is.EqualTo((await jobs.ReadObjectAsync()).ToJsonString()));
    }

    [TestCase(1)]
    [TestCase(100)]
    public async Task List_TakesTheBoundsOfALimit(int limit)
    {
        var response = await Admin.GetAsync($"/api_keys?limit={limit}");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(Pagination(await response.ReadObjectAsync()).Limit, Is.EqualTo(limit));
    }

    /// <summary>
    /// Read in its order from an index, never sorted: on SQLite as it plans; on PostgreSQL with sorts and sequential
    /// scans priced out, as on a table this small it would rightly choose them.
    /// </summary>
    [Test]
    public async Task List_ReadsItsPageInOrderFromAnIndex()
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.Database.OpenConnectionAsync();
        try
        {
            if (Storage == TestStorage.PostgreSql)
            {
                await db.Database.ExecuteSqlRawAsync("SET enable_seqscan = off; SET enable_sort = off; SET enable_bitmapscan = off;");
            }
            await using var command = db.ApiKeyPage(new PageQuery { Offset = 10_000 }).CreateDbCommand();
            command.CommandText = (Storage == TestStorage.PostgreSql ? "EXPLAIN " : "EXPLAIN QUERY PLAN ") + command.CommandText;
            var plan = await QueryPlans.ReadAsync(command);

            Assert.That(plan, Does.Contain("ix_api_keys_created").And.Not.Contain("TEMP B-TREE").And.Not.Contain("Sort"), plan);
        }
        finally
        {
            if (Storage == TestStorage.PostgreSql)
            {
                await db.Database.ExecuteSqlRawAsync("RESET enable_seqscan; RESET enable_sort; RESET enable_bitmapscan;");
            }
            await db.Database.CloseConnectionAsync();
        }
    }

    [Test]
    public async Task Get_ReturnsTheKey_AsTheListShowsIt()
    {
        var created = await App.CreateKeyAsync(plan: "pro");
        (await Admin.PatchAsJsonAsync($"/api_keys/{created.KeyId}", new { rate_limits = new { max_concurrent = 3 } })).EnsureSuccessStatusCode();

        var response = await Admin.GetAsync($"/api_keys/{created.KeyId}");
        var listed = (await (await Admin.GetAsync("/api_keys?limit=1")).ReadObjectAsync())["api_keys"]![0]!;

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("key_id"), Is.EqualTo(created.KeyId));
        Assert.That(body.At("rate_limits.max_concurrent")!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(JsonNode.DeepEquals(body, listed), Is.True, $"{body.ToJsonString()} listed as {listed.ToJsonString()}");
    }

    [Test]
    public async Task Create_WithANullLimit_GivesTheKeyNoLimit_AndThePlansForTheOther()
    {
        var response = await Admin.PostRawAsync("/api_keys", """{"name":"unmetered","plan":"free","rate_limits":{"requests_per_minute":null}}""");
        var created = await response.ReadObjectAsync();
        var read = await (await Admin.GetAsync($"/api_keys/{created.Str("key_id")}")).ReadObjectAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        foreach (var key in new[] { created, read })
        {
            Assert.That(key["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"max_concurrent":1}"""), "no limit is left out, as null fields are; the free plan's executions at once");
        }
    }

    [Test]
    public async Task Patch_WithANullLimit_LiftsIt_LeavesTheOtherAsItWas_AndResetGoesBackToThePlans()
    {
        var created = await App.CreateKeyAsync(plan: "pro");
        async Task<JsonObject> PatchAsync(string body) => await (await Admin.PatchRawAsync($"/api_keys/{created.KeyId}", body)).ReadObjectAsync();

        var own = await PatchAsync("""{"rate_limits":{"requests_per_minute":50,"max_concurrent":3}}""");
        var perMinuteLifted = await PatchAsync("""{"rate_limits":{"requests_per_minute":null}}""");
        var renamed = await PatchAsync("""{"name":"renamed"}""");
        var bothLifted = await PatchAsync("""{"rate_limits":{"max_concurrent":null}}""");
        var listed = (await (await Admin.GetAsync("/api_keys")).ReadObjectAsync())["api_keys"]!.AsArray().Single(k => k.Str("key_id") == created.KeyId)!;
        var perMinuteAgain = await PatchAsync("""{"rate_limits":{"requests_per_minute":7}}""");
        var liftedAndReset = await PatchAsync("""{"rate_limits":{"max_concurrent":null},"reset_rate_limits":true}""");
        var reset = await PatchAsync("""{"reset_rate_limits":true}""");

        Assert.Multiple(() =>
        {
            Assert.That(own["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"requests_per_minute":50,"max_concurrent":3}"""));
            Assert.That(perMinuteLifted["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"max_concurrent":3}"""), "no limit per minute; its own executions at once kept");
            Assert.That(renamed["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"max_concurrent":3}"""), "a PATCH without rate_limits keeps no limit");
            Assert.That(bothLifted["rate_limits"]!.ToJsonString(), Is.EqualTo("{}"));
            Assert.That(listed["rate_limits"]!.ToJsonString(), Is.EqualTo("{}"), "listed as read");
            Assert.That(perMinuteAgain["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"requests_per_minute":7}"""));
            Assert.That(liftedAndReset["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"requests_per_minute":100}"""), "the one given stays given, the other is the plan's");
            Assert.That(reset["rate_limits"]!.ToJsonString(), Is.EqualTo("""{"requests_per_minute":100,"max_concurrent":5}"""), "the pro plan's");
        });
    }

    [Test]
    public async Task Get_ReturnsARevokedKey_WithWhenItWasRevoked()
    {
        var created = await App.CreateKeyAsync();
        var revoked = await (await Admin.DeleteAsync($"/api_keys/{created.KeyId}")).ReadObjectAsync();

        var body = await (await Admin.GetAsync($"/api_keys/{created.KeyId}")).ReadObjectAsync();

        Assert.That(JsonNode.DeepEquals(body, revoked), Is.True, $"{body.ToJsonString()} revoked as {revoked.ToJsonString()}");
    }

    [Test]
    public async Task Get_ReturnsNotFound_ForUnknownKey_AsRevokeDoes()
    {
        var response = await Admin.GetAsync("/api_keys/key_doesnotexist");

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var body = await response.ReadObjectAsync();
        Assert.That(body.Str("error.code"), Is.EqualTo("API_KEY_NOT_FOUND"));
        Assert.That(body.ToJsonString(), Is.EqualTo((await (await Admin.DeleteAsync("/api_keys/key_doesnotexist")).ReadObjectAsync()).ToJsonString()));
    }

    [Test]
    public async Task Create_SaysWhereTheKeyIs_AndThereItCanBeRead()
    {
        var response = await Admin.PostJsonAsync("/api_keys", new { name = "located", plan = "enterprise" });
        var created = await response.ReadObjectAsync();
        var keyId = created.Str("key_id");

        Assert.That(response.Headers.Location?.OriginalString, Is.EqualTo($"/api_keys/{keyId}"));
        var read = await Admin.GetAsync(response.Headers.Location);
        var body = await read.ReadObjectAsync();
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((body.Str("key_id"), body.Str("name"), body.Str("plan")), Is.EqualTo((keyId, "located", "enterprise")));
        Assert.That(body.ContainsKey("api_key"), Is.False, "the key itself is shown only once");
    }

    private async Task<int> TotalAsync() =>
        Pagination(await (await Admin.GetAsync("/api_keys?limit=1")).ReadObjectAsync()).Total;

    private static List<string> KeyIds(JsonObject page) =>
        [.. page["api_keys"]!.AsArray().Select(k => k.Str("key_id")!)];

    private static (int Limit, int Offset, int Total) Pagination(JsonObject page) =>
        (page.At("pagination.limit")!.GetValue<int>(), page.At("pagination.offset")!.GetValue<int>(), page.At("pagination.total")!.GetValue<int>());

    private async Task<int> CountKeysOlderThanAsync(DateTime moment)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().ApiKeys.CountAsync(k => k.CreatedAt < moment);
    }

    /// <summary>Keys stored as made at <paramref name="createdAt"/>, a time the API would not give them; their ids.</summary>
    private async Task<List<string>> StoreKeysCreatedAtAsync(DateTime createdAt, int count)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var keys = Enumerable.Range(0, count).Select(_ => new ApiKey
        {
            Id = "key_" + Guid.NewGuid().ToString("N")[..12],
            Name = "stored",
            Plan = "free",
            IsAdmin = false,
            SecretHash = new byte[32],
            CreatedAt = createdAt,
        }).ToList();
        db.ApiKeys.AddRange(keys);
        await db.SaveChangesAsync();
        return [.. keys.Select(k => k.Id)];
    }
}
