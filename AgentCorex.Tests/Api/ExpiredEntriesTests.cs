using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Webhooks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Api;

/// <summary>
/// The caches of keys (Auth:KeyCacheTtl) and of their webhooks' events (Webhooks:SubscriptionCacheTtl) kept an expired
/// entry until its key was read again: a node held every key that ever called, revoked or gone quiet. Each is built
/// here on the test's clock, over the real database.
/// </summary>
public sealed class ExpiredEntriesTests() : ServerTest(TestStorage.Embedded)
{
    private readonly FakeTimeProvider time = new(DateTimeOffset.Parse("2026-12-01T10:00:00Z"));

    [Test]
    public async Task ExpiredKeys_AreDropped_AtALoadAMinuteLater()
    {
        var authenticator = new ApiKeyAuthenticator(
            App.Services.GetRequiredService<IServiceScopeFactory>(), Options.Create(new AuthOptions { KeyCacheTtl = TimeSpan.FromSeconds(2) }), time);
        var keys = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            keys.Add((await App.CreateKeyAsync()).KeyId);
        }
        foreach (var key in keys)
        {
            Assert.That(await authenticator.FindAsync(key, CancellationToken.None), Is.Not.Null);
        }
        var read = authenticator.Kept;

        time.Advance(ExpiredEntries.Period);
        var again = await authenticator.FindAsync(keys[0], CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(5));
            Assert.That(authenticator.Kept, Is.EqualTo(1), "the four keys not read again are dropped");
            Assert.That(again?.KeyId, Is.EqualTo(keys[0]), "read again from the database");
        });
    }

    [Test]
    public async Task ExpiredSubscriptions_AreDropped_AtALoadAMinuteLater()
    {
        var subscriptions = new WebhookSubscriptions(
            App.Services.GetRequiredService<IServiceScopeFactory>(), Options.Create(new WebhooksOptions { SubscriptionCacheTtl = TimeSpan.FromSeconds(2) }), time);
        for (var i = 0; i < 5; i++)
        {
            await subscriptions.EventBitsAsync($"key_quiet{i}", CancellationToken.None);
        }
        var read = subscriptions.Kept;

        time.Advance(ExpiredEntries.Period);
        await subscriptions.EventBitsAsync("key_quiet0", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(5));
            Assert.That(subscriptions.Kept, Is.EqualTo(1), "the four keys not read again are dropped");
        });
    }
}
