using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Auth;

/// <summary>
/// A fresh server must be usable: with no Auth:AdminKey and no admin key stored, the first start creates
/// one and prints it once to the console (never to the log, which may be shipped elsewhere). The nodes of a
/// cluster starting together on a fresh database look and create one at a time, so only one key is made.
/// </summary>
internal sealed class AdminKeyBootstrap(IServiceScopeFactory scopes, ApiKeyAuthenticator authenticator, TimeProvider time) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (authenticator.HasConfiguredAdminKey)
        {
            return;
        }
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        await using var alone = await ClusterLock.TakeAsync(db, DatabaseLocks.BootstrapAdminKey, DatabaseLocks.SqlServerBootstrapAdminKey, cancellationToken);
        if (await db.ApiKeys.AnyAsync(k => k.IsAdmin && k.RevokedAt == null, cancellationToken))
        {
            return;
        }
        var (keyId, apiKey, hash) = ApiKeySecrets.Generate();
        db.ApiKeys.Add(new ApiKey
        {
            Id = keyId,
            Name = "bootstrap admin",
            Plan = "enterprise",
            IsAdmin = true,
            SecretHash = hash,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        });
        await db.SaveChangesAsync(cancellationToken);
        await Console.Out.WriteLineAsync(
            $"""

            AgentCorex created an admin API key. It is shown only this once; keep it safe:

                {apiKey}

            (set Auth:AdminKey to use a key of your own instead)

            """);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
