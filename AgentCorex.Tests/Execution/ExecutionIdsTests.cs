using System.Collections.Concurrent;
using AgentCorex.Web.Execution;

namespace AgentCorex.Tests.Execution;

public sealed class ExecutionIdsTests
{
    [Test]
    public void Ids_AreTwelveLowercaseLettersOrDigits_AfterThePrefix_AndDoNotRepeat()
    {
        var ids = new ConcurrentBag<string>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                ids.Add(ExecutionIds.New("job_"));
            }
        });

        Assert.That(ids, Has.All.Match("^job_[a-z0-9]{12}$"));
        Assert.That(ids.Distinct().Count(), Is.EqualTo(ids.Count));
    }

    [Test]
    public void Characters_AreEquallyLikely()
    {
        var counts = new Dictionary<char, int>();
        for (var i = 0; i < 30_000; i++)
        {
            foreach (var c in ExecutionIds.New("")) // 360,000 characters: 10,000 expected of each of the 36
            {
                counts[c] = counts.GetValueOrDefault(c) + 1;
            }
        }

        Assert.That(counts.Keys, Is.EquivalentTo("abcdefghijklmnopqrstuvwxyz0123456789"));
        // 10,000 ± 5 %, about five standard deviations: a biased mapping (bytes 252-255 folded onto 'a'-'d') shows as +11 %.
        Assert.That(counts.Values, Has.All.InRange(9_500, 10_500));
    }
}
