using AgentCorex.Web.Webhooks;

namespace AgentCorex.Tests.Webhooks;

public sealed class RetryScheduleTests
{
    private static readonly WebhooksOptions Defaults = new();

    [Test]
    public void FirstRetry_ComesWithinTenSeconds_EvenWithJitter()
    {
        for (var i = 0; i < 100; i++)
        {
            Assert.That(RetrySchedule.Delay(1, Defaults), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)).And.LessThan(TimeSpan.FromSeconds(10)));
        }
    }

    [Test]
    public void Delays_Grow_UpToTheCap()
    {
        var delays = Enumerable.Range(1, Defaults.MaxAttempts - 1).Select(n => RetrySchedule.NominalDelay(n, Defaults)).ToList();

        Assert.That(delays, Is.Ordered);
        Assert.That(delays.Zip(delays.Skip(1)).Take(5).All(p => p.Second > p.First), Is.True, "exponential at first");
        Assert.That(delays.Max(), Is.EqualTo(Defaults.MaxRetryDelay));
    }

    [Test]
    public void DefaultAttempts_SpanAboutADay()
    {
        var total = Enumerable.Range(1, Defaults.MaxAttempts - 1).Aggregate(TimeSpan.Zero, (sum, n) => sum + RetrySchedule.NominalDelay(n, Defaults));

        Assert.That(total, Is.InRange(TimeSpan.FromHours(20), TimeSpan.FromHours(28)));
    }

    [Test]
    public void RetryAfter_CountsOnlyWhenLongerThanTheBackoff_AndForAnHourAtMost()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RetrySchedule.Delay(1, Defaults, TimeSpan.FromSeconds(30)), Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(RetrySchedule.Delay(1, Defaults, TimeSpan.FromSeconds(1)), Is.InRange(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.5)));
            Assert.That(RetrySchedule.Delay(1, Defaults, TimeSpan.FromSeconds(-30)), Is.InRange(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.5)), "a date in the past");
            Assert.That(RetrySchedule.Delay(1, Defaults, TimeSpan.FromDays(2)), Is.EqualTo(RetrySchedule.MaxRetryAfter));
            Assert.That(RetrySchedule.Delay(8, Defaults, TimeSpan.FromMinutes(30)), Is.GreaterThanOrEqualTo(TimeSpan.FromHours(8)), "the backoff is longer already");
        });
    }
}
