using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>The counts a cluster's nodes keep in the shared database.</summary>
public sealed class DatabaseRequestCounterTests() : ServerTest(TestStorage.PostgreSql)
{
    /// <summary>
    /// A node sweeps the old minutes at its first count of a minute. A request that read the clock before the minute
    /// turned, counted after one of the new minute, used to take the node's last swept minute back, so that the next
    /// request of the new minute swept again.
    /// </summary>
    [Test]
    public async Task ARequestOfTheMinuteBefore_CountedLate_DoesNotMakeTheNewMinuteSweepAgain()
    {
        // A counter of its own, on minutes long past: its sweeps reach no other count in the database.
        var counter = new DatabaseRequestCounter(App.Services.GetRequiredService<IServiceScopeFactory>(), App.Services.GetRequiredService<AsyncCommitDataSource>());
        const long minute = 1_000;
        await counter.CountAsync("key_late", RateLimitFilter.ExecutionBucket, minute, CancellationToken.None);
        await counter.CountAsync("key_late", RateLimitFilter.ExecutionBucket, minute - 1, CancellationToken.None); // read the clock at 59.999 s

        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
        // A minute any sweep from now on deletes.
        db.RateLimitWindows.Add(new RateLimitWindow { KeyId = "key_old", Bucket = RateLimitFilter.ExecutionBucket, Minute = minute - 10, Requests = 1 });
        await db.SaveChangesAsync();
        await counter.CountAsync("key_late", RateLimitFilter.ExecutionBucket, minute, CancellationToken.None);

        Assert.That(await db.RateLimitWindows.AnyAsync(w => w.KeyId == "key_old"), "the new minute was swept once, at its first count");
    }
}
