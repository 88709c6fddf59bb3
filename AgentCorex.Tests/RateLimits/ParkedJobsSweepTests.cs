using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// The sweep of parked jobs reads a page of keys with parked jobs a pass, the next page at the next pass. 500 keys
/// whose parked jobs wait behind their held slots (as a busy free plan has) filled the first page of every pass when
/// each pass read the same first 500 by key id, so a key past them whose parked job a crash left with its slot free
/// was never handed over by the sweep.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class ParkedJobsSweepTests(TestStorage storage) : ServerTest(storage)
{
    // Nothing runs, so the held slots stay held; the sweep passes every second.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "0",
        ["Jobs:ReconcileInterval"] = "00:00:01",
    };

    [Test]
    public async Task AParkedJobWithAFreeSlot_IsHandedOver_ThoughFiveHundredKeysBeforeItWaitForTheirs()
    {
        var keys = new List<string>();
        for (var i = 0; i < 501; i++)
        {
            keys.Add((await App.CreateKeyAsync(plan: "free")).KeyId);
        }
        keys.Sort(string.CompareOrdinal);
        var busy = keys[..500];
        var late = keys[500];
        var seeded = busy.SelectMany(key => new[]
        {
            Ledger.Job(key, "echo", JobStatus.Queued), // handed to Hangfire: holds the key's one slot
            Ledger.Parked(key),
        }).ToList();
        var left = Ledger.Parked(late); // a crash ended the job holding its slot before handing this one over
        seeded.Add(left);
        await App.AddJobsAsync(seeded);

        var deadline = DateTime.UtcNow.AddSeconds(5);
        bool stillParked;
        do
        {
            await Task.Delay(200);
            using var scope = App.Services.CreateScope();
            stillParked = await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking()
                .Where(j => j.Id == left.Id).Select(j => j.Parked).SingleAsync();
        }
        while (stillParked && DateTime.UtcNow < deadline);

        Assert.That(stillParked, Is.False, "handed over by one of the sweeps of the last 5 s");
    }
}
