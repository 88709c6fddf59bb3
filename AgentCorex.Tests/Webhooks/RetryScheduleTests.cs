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

    [Test]
    public void DefaultSchedule_EndsAboutADayAfterTheDeliveryWasCreated()
    {
        Assert.That(RetrySchedule.Span(Defaults), Is.InRange(TimeSpan.FromHours(25), TimeSpan.FromHours(27)));
    }

    [Test]
    public void NoRetryComesDueAfterTheEnd_ButOneTheReceiverAskedFor()
    {
        var now = DateTimeOffset.Parse("2026-11-28T10:00:00Z");
        var end = now + TimeSpan.FromMinutes(30);

        Assert.Multiple(() =>
        {
            Assert.That(RetrySchedule.NextAttempt(now, 5, null, end, Defaults) - now, Is.InRange(TimeSpan.FromMinutes(21), TimeSpan.FromMinutes(23.5)), "within the end: the schedule's own");
            Assert.That(RetrySchedule.NextAttempt(now, 7, null, end, Defaults), Is.EqualTo(end), "5.7 h: the end instead");
            Assert.That(RetrySchedule.NextAttempt(now, 1, TimeSpan.FromMinutes(45), end, Defaults) - now, Is.EqualTo(TimeSpan.FromMinutes(45)), "Retry-After is honoured");
        });
    }

    [Test]
    public void PutOff_AYoungDelivery_ComesBackAsTheCircuitCloses()
    {
        var now = DateTimeOffset.Parse("2026-11-28T10:00:00Z");

        var at = RetrySchedule.PutOff(now, free: now.AddSeconds(5), waitingSince: now.AddSeconds(-1), end: now.AddHours(26), Defaults);

        Assert.That(at - now, Is.InRange(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5.5)));
    }

    [TestCase(60, TestName = "PutOff_ADeadReceiversBacklog_ComesBackEverMoreRarely_AndNotAfterTheEnd")]
    [TestCase(10, TestName = "PutOff_ASlowReceiversBacklog_ComesBackEverMoreRarely_AndNotAfterTheEnd")]
    [TestCase(1, TestName = "PutOff_ABusyReceiversBacklog_ComesBackEverMoreRarely_AndNotAfterTheEnd")]
    public void PutOff_ABacklog_ComesBackEverMoreRarely_AndNotAfterTheEnd(double freeAfterSeconds)
    {
        // A delivery whose receiver is never free when it comes back: each time, its circuit is open for another
        // minute (dead), its one attempt in flight takes an attempt timeout (slow), or its half of the workers are
        // taken for a second (busy).
        var created = DateTimeOffset.Parse("2026-11-28T10:00:00Z");
        var end = created + RetrySchedule.Span(Defaults);
        var now = created;
        var waits = new List<TimeSpan>();
        while (now < end)
        {
            var at = RetrySchedule.PutOff(now, free: now + TimeSpan.FromSeconds(freeAfterSeconds), waitingSince: created, end, Defaults);
            waits.Add(at - now);
            now = at;
        }

        Assert.Multiple(() =>
        {
            Assert.That(now, Is.EqualTo(end), "the last time it comes back is its end, when it is given up");
            Assert.That(waits, Has.Count.LessThanOrEqualTo(20), string.Join(", ", waits));
            Assert.That(waits.Take(waits.Count - 1), Is.All.LessThanOrEqualTo(Defaults.MaxRetryDelay));
            // The first wait is until the receiver is free; from then on, each is as long as the delivery has waited so far.
            Assert.That(waits.Skip(1).Zip(waits.Skip(2)).Take(7).All(w => w.Second >= w.First * 1.9), Is.True, "each wait about doubles: " + string.Join(", ", waits));
        });
    }
}
