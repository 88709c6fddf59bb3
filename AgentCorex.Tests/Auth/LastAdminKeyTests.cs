using System.Net;
using System.Net.Http.Json;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Auth;

/// <summary>
/// With no Auth:AdminKey configured, the last active admin key is not revoked (409 LAST_ADMIN_KEY): nothing could
/// administer the server again, the bootstrap key being printed once. Each test makes the admin keys it uses the only
/// active ones (the bootstrap key revoked in the database), so the tests of this fixture run one at a time.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
[NonParallelizable]
public sealed class LastAdminKeyTests(TestStorage storage) : ServerTest(storage)
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Auth:AdminKey"] = "" };

    [Test]
    public async Task Revoke_OfTheLastAdminKey_ByItself_IsRefused_AndChangesNothing()
    {
        var (keyId, client) = (await OnlyAdminKeysAsync(1))[0];

        var response = await client.DeleteAsync($"/api_keys/{keyId}");
        var body = await response.ReadObjectAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), body.ToJsonString());
            Assert.That(body.Str("error.code"), Is.EqualTo("LAST_ADMIN_KEY"));
            Assert.That(body.Str("error.message"), Does.Contain("Auth:AdminKey").And.Contain("another admin key"));
            var key = await (await client.GetAsync($"/api_keys/{keyId}")).ReadObjectAsync();
            Assert.That(key.ContainsKey("revoked_at"), Is.False, "not revoked, and the key still works");
            var demoted = await client.PatchAsJsonAsync($"/api_keys/{keyId}", new { admin = false });
            Assert.That(demoted.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "no PATCH demotes a key: admin is not a field of it");
            Assert.That(await ActiveAdminKeysAsync(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Revoke_OfAnAdminKey_IsAllowed_WhileAnotherIsActive_ThenTheLastIsRefused()
    {
        var admins = await OnlyAdminKeysAsync(2);
        var (first, firstClient) = admins[0];
        var (second, secondClient) = admins[1];

        var itself = await firstClient.DeleteAsync($"/api_keys/{first}");
        var last = await secondClient.DeleteAsync($"/api_keys/{second}");

        Assert.That(itself.StatusCode, Is.EqualTo(HttpStatusCode.OK), "another admin key is left");
        Assert.That(last.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "none would be");
        Assert.That(await ActiveAdminKeysAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task Revokes_AtOnce_OfTheLastTwoAdminKeys_LeaveOne()
    {
        var admins = await OnlyAdminKeysAsync(2);
        await SlowRevocationsAsync();
        try
        {
            // Each revokes itself: one revoking the other could find itself revoked first (401), which leaves one too.
            var answers = await Task.WhenAll(admins.Select(a => a.Client.DeleteAsync($"/api_keys/{a.KeyId}")));

            Assert.That(answers.Select(a => a.StatusCode), Is.EquivalentTo(new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
            Assert.That(await ActiveAdminKeysAsync(), Is.EqualTo(1));
        }
        finally
        {
            await SlowRevocationsAsync(undo: true);
        }
    }

    [Test]
    public async Task Revoke_OfANonAdminKey_IsAllowed_ThoughOneAdminKeyIsLeft()
    {
        var (_, admin) = (await OnlyAdminKeysAsync(1))[0];
        var key = await AgentCorexApp.CreateKeyAsync(admin);

        Assert.That((await admin.DeleteAsync($"/api_keys/{key.KeyId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    /// <summary>
    /// <paramref name="count"/> new admin keys, with clients, stored as the only active ones: every other admin key
    /// (the bootstrap key, earlier tests') is revoked in the database, as a test's setup, not through the API.
    /// </summary>
    private async Task<List<(string KeyId, HttpClient Client)>> OnlyAdminKeysAsync(int count)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await db.ApiKeys.Where(k => k.IsAdmin && k.RevokedAt == null).ExecuteUpdateAsync(set => set.SetProperty(k => k.RevokedAt, DateTime.UtcNow));
        var admins = new List<(string, HttpClient)>();
        for (var i = 0; i < count; i++)
        {
            var (keyId, apiKey, hash) = ApiKeySecrets.Generate();
            db.ApiKeys.Add(new ApiKey { Id = keyId, Name = "admin " + i, Plan = "enterprise", IsAdmin = true, SecretHash = hash, CreatedAt = DateTime.UtcNow });
            admins.Add((keyId, App.CreateClient(apiKey)));
        }
        await db.SaveChangesAsync();
        return admins;
    }

    /// <summary>
    /// On PostgreSQL, a revocation's UPDATE waits half a second once its WHERE has been checked, so that two at once
    /// check it before either commits, as they may on a busy server: their own checks then see each other's key active.
    /// The embedded database applies writes one at a time, so there is nothing to slow.
    /// </summary>
    private async Task SlowRevocationsAsync(bool undo = false)
    {
        if (Storage != TestStorage.PostgreSql)
        {
            return;
        }
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database;
        if (undo)
        {
            await db.ExecuteSqlRawAsync("DROP TRIGGER test_slow_revocation ON api_keys; DROP FUNCTION test_slow_revocation()");
            return;
        }
        await db.ExecuteSqlRawAsync("""
            CREATE FUNCTION test_slow_revocation() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$;
            CREATE TRIGGER test_slow_revocation BEFORE UPDATE OF revoked_at ON api_keys FOR EACH ROW EXECUTE FUNCTION test_slow_revocation();
            """);
    }

    private async Task<int> ActiveAdminKeysAsync()
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().ApiKeys.CountAsync(k => k.IsAdmin && k.RevokedAt == null);
    }
}
