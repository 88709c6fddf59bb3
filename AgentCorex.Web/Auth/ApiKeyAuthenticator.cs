using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using AgentCorex.Web.Api;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Auth;

/// <summary>
/// Checks presented API keys. What it reads of a stored key is kept for <see cref="AuthOptions.KeyCacheTtl"/>,
/// so the hot path costs a hash and no query; <see cref="Forget"/> makes a revocation take effect at once.
/// </summary>
public sealed class ApiKeyAuthenticator(IServiceScopeFactory scopes, IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, CachedKey> cache = new(StringComparer.Ordinal);
    private readonly ExpiredEntries expired = new();

    /// <summary>
    /// Ids that named no key when last read, until when that is trusted. Without them a made-up id cost a query every
    /// time where a real one is answered from <see cref="cache"/>: a 401's time told whether an id exists, and a flood of
    /// made-up keys was a flood of queries. At most <see cref="MaxUnknownIds"/>: anyone can send new ones.
    /// </summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> unknownIds = new(StringComparer.Ordinal);

    private const int MaxUnknownIds = 10_000;
    private readonly string? configuredAdminKey = string.IsNullOrEmpty(options.Value.AdminKey) ? null : options.Value.AdminKey;
    private readonly string? configuredAdminSession = string.IsNullOrEmpty(options.Value.AdminKey) ? null : ConfiguredAdminSession(options.Value.AdminKey);

    public bool HasConfiguredAdminKey => configuredAdminKey is not null;

    /// <summary>
    /// The presented key's identity, or what was wrong with it. A revoked key is told apart only with its own secret;
    /// the caller's answer must not tell the faults apart (they are the operator's, <see cref="FailedAuthentications"/>).
    /// </summary>
    public async ValueTask<ApiKeyCheck> AuthenticateAsync(string presented, CancellationToken cancellationToken)
    {
        if (configuredAdminKey is not null && ApiKeySecrets.EqualsInConstantTime(presented, configuredAdminKey))
        {
            return ApiKeyCheck.Valid(ApiKeyIdentity.ConfiguredAdmin);
        }
        if (!ApiKeySecrets.TryParse(presented, out var keyId, out var secret))
        {
            return ApiKeyCheck.Refused(CredentialFault.NoSuchKey);
        }

        var cached = await CachedAsync(keyId, cancellationToken);
        if (cached is null)
        {
            return ApiKeyCheck.Refused(CredentialFault.NoSuchKey);
        }
        if (!ApiKeySecrets.Matches(secret, cached.SecretHash))
        {
            return ApiKeyCheck.Refused(CredentialFault.WrongSecret);
        }
        return cached.Revoked ? ApiKeyCheck.Refused(CredentialFault.Revoked) : ApiKeyCheck.Valid(cached.Identity);
    }

    /// <summary>
    /// A key as this node last read it (at most <see cref="AuthOptions.KeyCacheTtl"/> ago), for work done on its
    /// behalf outside a request (handing its parked jobs over); null when it does not exist or is revoked.
    /// </summary>
    public async ValueTask<ApiKeyIdentity?> FindAsync(string keyId, CancellationToken cancellationToken)
    {
        if (keyId == ApiKeyIdentity.ConfiguredAdminKeyId)
        {
            return ApiKeyIdentity.ConfiguredAdmin;
        }
        var cached = await CachedAsync(keyId, cancellationToken);
        return cached is { Revoked: false } ? cached.Identity : null;
    }

    /// <summary>
    /// What a login session (the dashboard's) keeps of the key it was opened with, instead of the key: a stored key's
    /// id (its secret never changes, and a revocation ends the session), or for the configured admin key a salted
    /// digest of it, so that configuring another key ends the sessions of the one before.
    /// </summary>
    public static string SessionOf(ApiKeyIdentity identity, string presented) =>
        identity.KeyId == ApiKeyIdentity.ConfiguredAdminKeyId ? ConfiguredAdminSession(presented) : identity.KeyId;

    /// <summary>The key a session was opened with, as <see cref="FindAsync"/> finds it now; null when it is revoked or no longer configured.</summary>
    public async ValueTask<ApiKeyIdentity?> FindSessionAsync(string session, CancellationToken cancellationToken)
    {
        if (session.StartsWith(ApiKeyIdentity.ConfiguredAdminKeyId, StringComparison.Ordinal))
        {
            return configuredAdminSession is { } configured
                   && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(session), Encoding.ASCII.GetBytes(configured))
                ? ApiKeyIdentity.ConfiguredAdmin
                : null;
        }
        return await FindAsync(session, cancellationToken);
    }

    private static string ConfiguredAdminSession(string key) =>
        ApiKeyIdentity.ConfiguredAdminKeyId + ":" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("AgentCorex session\n" + key)));

    /// <summary>The keys read and kept, for tests.</summary>
    internal int Kept => cache.Count;

    public void Forget(string keyId)
    {
        cache.TryRemove(keyId, out _);
        unknownIds.TryRemove(keyId, out _);
    }

    private async ValueTask<CachedKey?> CachedAsync(string keyId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (cache.TryGetValue(keyId, out var cached) && cached.ExpiresAt > now)
        {
            return cached;
        }
        if (unknownIds.TryGetValue(keyId, out var unknownUntil) && unknownUntil > now)
        {
            return null;
        }
        expired.DropIfDue(cache, static key => key.ExpiresAt, now);
        cached = await LoadAsync(keyId, now, cancellationToken);
        if (cached is not null)
        {
            cache[keyId] = cached;
            unknownIds.TryRemove(keyId, out _);
        }
        else
        {
            RememberUnknown(keyId, now);
        }
        return cached;
    }

    private void RememberUnknown(string keyId, DateTimeOffset now)
    {
        if (unknownIds.Count >= MaxUnknownIds)
        {
            foreach (var (id, until) in unknownIds)
            {
                if (until <= now)
                {
                    unknownIds.TryRemove(id, out _);
                }
            }
            if (unknownIds.Count >= MaxUnknownIds)
            {
                unknownIds.Clear(); // a flood of made-up ids within one TTL: start over rather than grow
            }
        }
        unknownIds[keyId] = now + options.Value.KeyCacheTtl;
    }

    private async Task<CachedKey?> LoadAsync(string keyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken);
        return key is null ? null : new CachedKey(
            key.ToIdentity(),
            key.SecretHash,
            key.RevokedAt is not null,
            now + options.Value.KeyCacheTtl);
    }

    private sealed record CachedKey(ApiKeyIdentity Identity, byte[] SecretHash, bool Revoked, DateTimeOffset ExpiresAt);
}
