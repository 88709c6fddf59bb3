using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// What the embedded database's slot queries remember of each key (a bound on its held slots, that it parks none) was
/// kept for every key ever admitted, revoked or gone quiet. Each pass of the parked-jobs sweep now drops it, and a key
/// is asked again: its answers stay right.
/// </summary>
public sealed class RememberedSlotAnswersTests() : ServerTest(TestStorage.Embedded)
{
    private static readonly Func<AgentCorexDb> NoContext = () => throw new InvalidOperationException("not asked of EF Core");

    // Nothing runs, so the held slots stay held; the sweep passes every 200 ms.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "0",
        ["Jobs:ReconcileInterval"] = "00:00:00.200",
    };

    [Test]
    public async Task TheAnswersRememberedOfKeys_AreDroppedByTheSweep_AndAskedAgainRightly()
    {
        var queries = (SqliteSlotQueries)App.Services.GetRequiredService<ISlotQueries>();
        var keys = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            keys.Add((await App.CreateKeyAsync("pro")).KeyId);
        }
        await App.AddJobsAsync(keys.SelectMany(key => Enumerable.Range(0, 2).Select(_ => Ledger.Job(key, "echo", JobStatus.Queued))));
        foreach (var key in keys)
        {
            await queries.HoldAtLeastAsync(NoContext, key, 5, CancellationToken.None);
            await queries.HasParkedAsync(NoContext, key, CancellationToken.None);
        }

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (queries.Remembered > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.That(queries.Remembered, Is.Zero, "dropped by one of the sweeps of the last 5 s");
        Assert.That(await queries.HoldAtLeastAsync(NoContext, keys[0], 2, CancellationToken.None), Is.True, "two held, counted again");
        Assert.That(await queries.HoldAtLeastAsync(NoContext, keys[0], 3, CancellationToken.None), Is.False);
    }
}
