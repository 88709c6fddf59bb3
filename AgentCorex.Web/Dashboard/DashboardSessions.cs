using System.Security.Cryptography;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Dashboard;

/// <summary>The dashboard's open sessions, in the app's database (<see cref="DashboardSession"/>).</summary>
internal sealed class DashboardSessions(AgentCorexDb db, TimeProvider time)
{
    /// <summary>Opens a session of <paramref name="keyId"/> until <paramref name="expiresAt"/>; returns its id.</summary>
    public async Task<string> OpenAsync(string keyId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        // Logins are rare and sessions few: the expired ones are swept here rather than by a timer of their own.
        await db.DashboardSessions.Where(s => s.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        db.DashboardSessions.Add(new DashboardSession { Id = id, KeyId = keyId, CreatedAt = now, ExpiresAt = expiresAt.UtcDateTime });
        await db.SaveChangesAsync(cancellationToken);
        return id;
    }

    public Task<bool> IsOpenAsync(string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return db.DashboardSessions.AnyAsync(s => s.Id == id && s.ExpiresAt > now, cancellationToken);
    }

    public Task EndAsync(string id, CancellationToken cancellationToken) =>
        db.DashboardSessions.Where(s => s.Id == id).ExecuteDeleteAsync(cancellationToken);
}
