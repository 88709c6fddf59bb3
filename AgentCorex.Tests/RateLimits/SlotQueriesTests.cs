using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// The embedded database's answers about a key's slots. This process stores every job, so a count stays true as a
/// bound once the jobs stored since are added to it; a key is counted again only when that bound reaches the limit asked about.
/// </summary>
public sealed class SlotQueriesTests() : ServerTest(TestStorage.Embedded)
{
    private static readonly Func<AgentCorexDb> NoContext = () => throw new InvalidOperationException("the embedded count needs no EF Core context");

    private static IEnumerable<JobEntry> Queued(string keyId, int count) =>
        Enumerable.Range(0, count).Select(_ => Ledger.Job(keyId, "echo", JobStatus.Queued));

    [Test]
    public async Task AKey_IsCountedAgain_OnlyWhenItsBoundReachesTheLimit()
    {
        var key = await App.CreateKeyAsync("pro");
        var queries = App.Services.GetRequiredService<ISlotQueries>();
        await App.AddJobsAsync(Queued(key.KeyId, 3));

        var counted = await queries.HoldAtLeastAsync(NoContext, key.KeyId, 10, CancellationToken.None);
        // Seven more rows that this process's admission was not told of: the bound (3) still answers.
        await App.AddJobsAsync(Queued(key.KeyId, 7));
        var fromTheBound = await queries.HoldAtLeastAsync(NoContext, key.KeyId, 10, CancellationToken.None);
        for (var i = 0; i < 7; i++)
        {
            queries.Stored(key.KeyId, parked: false);
        }
        var countedAgain = await queries.HoldAtLeastAsync(NoContext, key.KeyId, 10, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(counted, Is.False, "3 held, 10 asked about");
            Assert.That(fromTheBound, Is.False, "answered from the bound, without a count");
            Assert.That(countedAgain, Is.True, "the bound reached 10, so the 10 rows were counted");
        });
    }

    [Test]
    public async Task AKeysJobs_AreCountedUpToTheLimit_AndNoFurther()
    {
        var key = await App.CreateKeyAsync("pro");
        var queries = App.Services.GetRequiredService<ISlotQueries>();
        await App.AddJobsAsync([.. Queued(key.KeyId, 8), Ledger.Job(key.KeyId, "echo", JobStatus.Completed)]);

        Assert.Multiple(async () =>
        {
            Assert.That(await queries.HeldByJobsAsync(NoContext, key.KeyId, 5, CancellationToken.None), Is.EqualTo(5));
            Assert.That(await queries.HeldByJobsAsync(NoContext, key.KeyId, 100, CancellationToken.None), Is.EqualTo(8), "a completed job holds no slot");
        });
    }
}
