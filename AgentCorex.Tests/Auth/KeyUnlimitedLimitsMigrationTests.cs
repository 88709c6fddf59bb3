using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.RateLimits;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Tests.Auth;

/// <summary>The migration KeyUnlimitedLimits (a key may have no limit of its own): keys made before it keep the limits they had.</summary>
public sealed class KeyUnlimitedLimitsMigrationTests
{
    private static readonly KeyLimits Limits = new(Options.Create(new RateLimitOptions()));

    [Test]
    public async Task OnTheEmbeddedDatabase_KeysKeepTheirOwnLimits_AndTheirPlans()
    {
        using var folder = TempFolder.Create("key-limits-migration");
        await using var old = await OldDatabase.MigratedToAsync(folder, "20261130112156_ApiKeyListingIndex");

        await AssertKeysKeepTheirLimitsAsync(old);
    }

    [Test]
    public async Task OnPostgreSql_KeysKeepTheirOwnLimits_AndTheirPlans()
    {
        await using var old = await OldDatabase.MigratedToAsync(await PostgresCluster.RequireAsync(), "20261130112143_ApiKeyListingIndex");

        await AssertKeysKeepTheirLimitsAsync(old);
    }

    private static async Task AssertKeysKeepTheirLimitsAsync(OldDatabase old)
    {
        // Written as SQL: the model already has the columns the old schema lacks.
        var hash = new byte[32];
        var createdAt = DateTime.UtcNow;
        await old.Db.Database.ExecuteSqlAsync($"""
            INSERT INTO api_keys (key_id, name, plan, is_admin, secret_hash, created_at, requests_per_minute, max_concurrent)
            VALUES ('key_ownlimits01', 'own', 'pro', {false}, {hash}, {createdAt}, {7}, {2})
            """);
        await old.Db.Database.ExecuteSqlAsync($"""
            INSERT INTO api_keys (key_id, name, plan, is_admin, secret_hash, created_at, requests_per_minute, max_concurrent)
            VALUES ('key_planlimits1', 'plan', 'pro', {false}, {hash}, {createdAt}, NULL, NULL)
            """);

        await old.MigrateTheRestAsync();
        var keys = await old.Db.ApiKeys.AsNoTracking().OrderBy(k => k.Id).ToListAsync();
        var limits = keys.Select(k => (k.Id, Limits.RequestsPerMinute(k.ToIdentity()), Limits.MaxConcurrent(k.ToIdentity())));

        Assert.That(limits, Is.EqualTo(new[] { ("key_ownlimits01", (int?)7, (int?)2), ("key_planlimits1", 100, 5) }), "its own, and the pro plan's");
        Assert.That(keys.Select(k => (k.RequestsPerMinuteUnlimited, k.MaxConcurrentUnlimited)), Is.All.EqualTo((false, false)));
    }
}
