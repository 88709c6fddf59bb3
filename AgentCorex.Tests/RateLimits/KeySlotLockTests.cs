using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>The per-key lock on a server database, whose transaction is the work's.</summary>
public sealed class KeySlotLockTests() : ServerTest(TestStorage.PostgreSql)
{
    [Test]
    public async Task Work_IsCommittedAndAnswered_WhenTheCallersTokenFiresAfterItReturned()
    {
        var key = await App.CreateKeyAsync("pro");
        var job = Ledger.Job(key.KeyId, "echo", JobStatus.Completed);
        using var caller = new CancellationTokenSource();
        int answer;
        await using (var scope = App.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<AgentCorexDb>();
            answer = await scope.ServiceProvider.GetRequiredService<KeySlotLock>().RunAsync(() => db, key.KeyId, async token =>
            {
                db.Jobs.Add(job);
                await db.SaveChangesAsync(token);
                caller.Cancel(); // as a client going away while the commit is on its way
                return 42;
            }, caller.Token);
        }

        await using var check = App.Services.CreateAsyncScope();
        var stored = await check.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking().AnyAsync(j => j.Id == job.Id);
        Assert.Multiple(() =>
        {
            Assert.That(answer, Is.EqualTo(42));
            Assert.That(stored, "what the work did is committed, as its caller was told");
        });
    }
}
