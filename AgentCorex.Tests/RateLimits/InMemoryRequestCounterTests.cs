using AgentCorex.Web.RateLimits;

namespace AgentCorex.Tests.RateLimits;

/// <summary>
/// A request that read the clock just before a minute rolled over, counted just after a request
/// of the new minute, takes the key's window back to the old minute, and the new minute's count starts again from 1.
/// The windows of keys that stopped calling were kept for as long as the node ran.
/// </summary>
public sealed class InMemoryRequestCounterTests
{
    [Test]
    public async Task ARequestOfTheMinuteBefore_CountedLate_DoesNotForgetTheNewMinutesCount()
    {
        var counter = new InMemoryRequestCounter();
        const long minute = 29_000_000;
        for (var i = 0; i < 9; i++)
        {
            await counter.CountAsync("key_a", RateLimitFilter.ExecutionBucket, minute + 1, CancellationToken.None);
        }

        await counter.CountAsync("key_a", RateLimitFilter.ExecutionBucket, minute, CancellationToken.None); // read the clock at 59.999 s
        var tenth = await counter.CountAsync("key_a", RateLimitFilter.ExecutionBucket, minute + 1, CancellationToken.None);

        Assert.That(tenth, Is.GreaterThanOrEqualTo(10), "the new minute's tenth request, whatever the late one counted for");
    }

    [Test]
    public async Task TheWindowsOfKeysThatStoppedCalling_AreDroppedAsAMinuteBegins_NotTheLastMinutes()
    {
        var counter = new InMemoryRequestCounter();
        const long minute = 29_000_000;
        for (var i = 0; i < 100; i++)
        {
            await counter.CountAsync($"key_{i}", RateLimitFilter.ApiBucket, minute, CancellationToken.None);
        }
        await counter.CountAsync("key_busy", RateLimitFilter.ApiBucket, minute + 1, CancellationToken.None);
        await counter.CountAsync("key_busy", RateLimitFilter.ApiBucket, minute + 1, CancellationToken.None);

        var third = await counter.CountAsync("key_busy", RateLimitFilter.ApiBucket, minute + 1, CancellationToken.None);
        var busyNextMinute = await counter.CountAsync("key_busy", RateLimitFilter.ApiBucket, minute + 2, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(third, Is.EqualTo(3), "the minute before's windows stay, the count with them");
            Assert.That(counter.Count, Is.EqualTo(1), "the 100 keys quiet for a whole minute are dropped");
            Assert.That(busyNextMinute, Is.EqualTo(1));
        });
    }
}
