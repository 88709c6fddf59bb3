using AgentCorex.Web.Webhooks;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Webhooks;

/// <summary>The gate's rules on a clock the test moves, with 4 workers, a 10 s attempt timeout and 1 s before the first retry.</summary>
public sealed class ReceiverGateTests
{
    private readonly FakeTimeProvider time = new(DateTimeOffset.Parse("2026-11-28T10:00:00Z"));
    private ReceiverGate gate = null!;

    [SetUp]
    public void CreateGate() => gate = new ReceiverGate(
        Options.Create(new WebhooksOptions { WorkerCount = 4, AttemptTimeout = TimeSpan.FromSeconds(10), RetryBaseDelay = TimeSpan.FromSeconds(1) }), time);

    private void Unanswered(string webhookId)
    {
        Assert.That(gate.TryEnter(webhookId).Kind, Is.EqualTo(AdmissionKind.Go));
        time.Advance(TimeSpan.FromSeconds(10));
        gate.Exit(webhookId, answered: false, TimeSpan.FromSeconds(10));
    }

    [Test]
    public void AHealthyWebhook_TakesHalfTheWorkersAtMost()
    {
        Assert.That(gate.TryEnter("wh_a").Kind, Is.EqualTo(AdmissionKind.Go));
        Assert.That(gate.TryEnter("wh_a").Kind, Is.EqualTo(AdmissionKind.Go));

        var third = gate.TryEnter("wh_a");
        Assert.That(third.Kind, Is.EqualTo(AdmissionKind.Later));
        Assert.That(third.At - time.GetUtcNow(), Is.InRange(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5)));
        Assert.That(gate.TryEnter("wh_b").Kind, Is.EqualTo(AdmissionKind.Go), "another webhook is not held up");
    }

    [Test]
    public void AfterAnUnansweredAttempt_TheCircuitOpens_ForLongerEachTime_UpToAMinute()
    {
        var opened = new List<TimeSpan>();
        for (var i = 0; i < 9; i++)
        {
            Unanswered("wh_dead");
            var admission = gate.TryEnter("wh_dead");
            Assert.That(admission.Kind, Is.EqualTo(AdmissionKind.CircuitOpen));
            opened.Add(admission.At - time.GetUtcNow());
            time.Advance(admission.At - time.GetUtcNow());
        }

        Assert.That(opened.Take(4), Is.EqualTo(new[] { 1, 2, 4, 8 }.Select(s => TimeSpan.FromSeconds(s))));
        Assert.That(opened.Max(), Is.EqualTo(ReceiverGate.MaxOpen));
    }

    [Test]
    public void ASlowWebhook_HasOneAttemptInFlight_AndSlowOnesHalfTheWorkers()
    {
        foreach (var id in new[] { "wh_1", "wh_2", "wh_3" })
        {
            Unanswered(id);
        }
        time.Advance(TimeSpan.FromSeconds(2)); // their circuits close

        Assert.That(gate.TryEnter("wh_1").Kind, Is.EqualTo(AdmissionKind.Go));
        var second = gate.TryEnter("wh_1");
        Assert.That(second.Kind, Is.EqualTo(AdmissionKind.Later));
        Assert.That(second.At - time.GetUtcNow(), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(10)), "not before the attempt in flight has timed out");
        Assert.That(gate.TryEnter("wh_2").Kind, Is.EqualTo(AdmissionKind.Go));
        Assert.That(gate.TryEnter("wh_3").Kind, Is.EqualTo(AdmissionKind.Later), "2 of the 4 workers are on slow receivers already");
        Assert.That(gate.TryEnter("wh_healthy").Kind, Is.EqualTo(AdmissionKind.Go));
    }

    [Test]
    public void AQuickAnswer_MakesASlowWebhookHealthyAgain()
    {
        Unanswered("wh_back");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(gate.TryEnter("wh_back").Kind, Is.EqualTo(AdmissionKind.Go));
        gate.Exit("wh_back", answered: true, TimeSpan.FromMilliseconds(30));

        Assert.That(gate.TryEnter("wh_back").Kind, Is.EqualTo(AdmissionKind.Go));
        Assert.That(gate.TryEnter("wh_back").Kind, Is.EqualTo(AdmissionKind.Go), "two at once again");
    }

    [Test]
    public void AnAnswerTakingHalfTheTimeout_MakesAWebhookSlow_WithoutOpeningItsCircuit()
    {
        Assert.That(gate.TryEnter("wh_slow").Kind, Is.EqualTo(AdmissionKind.Go));
        gate.Exit("wh_slow", answered: true, TimeSpan.FromSeconds(6));

        Assert.That(gate.TryEnter("wh_slow").Kind, Is.EqualTo(AdmissionKind.Go));
        Assert.That(gate.TryEnter("wh_slow").Kind, Is.EqualTo(AdmissionKind.Later));
    }

    [Test]
    public void AWithdrawnAttempt_FreesItsPlace()
    {
        Unanswered("wh_1");
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(gate.TryEnter("wh_1").Kind, Is.EqualTo(AdmissionKind.Go));
        gate.Withdraw("wh_1");

        Assert.That(gate.TryEnter("wh_1").Kind, Is.EqualTo(AdmissionKind.Go));
    }

    [Test]
    public void AnOpenCircuit_SaysSinceWhenItsReceiverHasNotAnswered_UntilItAnswers()
    {
        Unanswered("wh_down");
        var firstSilence = time.GetUtcNow();
        time.Advance(TimeSpan.FromSeconds(2));
        Unanswered("wh_down");

        var open = gate.TryEnter("wh_down");
        Assert.That(open.Kind, Is.EqualTo(AdmissionKind.CircuitOpen));
        Assert.That(open.Since, Is.EqualTo(firstSilence), "since its first unanswered attempt in a row");

        time.Advance(open.At - time.GetUtcNow());
        Assert.That(gate.TryEnter("wh_down").Kind, Is.EqualTo(AdmissionKind.Go));
        gate.Exit("wh_down", answered: true, TimeSpan.FromMilliseconds(30));
        Unanswered("wh_down");
        Assert.That(gate.TryEnter("wh_down").Since, Is.EqualTo(time.GetUtcNow()), "an answer ended the silence");
    }

    [Test]
    public void APutOff_SaysSinceWhenItsReceiverHasBeenSlowOrAtWork_WithoutABreak()
    {
        var slowSince = time.GetUtcNow();
        Assert.That(gate.TryEnter("wh_slow").Kind, Is.EqualTo(AdmissionKind.Go));
        time.Advance(TimeSpan.FromSeconds(6));
        gate.Exit("wh_slow", answered: true, TimeSpan.FromSeconds(6));
        time.Advance(TimeSpan.FromMinutes(1)); // idle, but still slow
        Assert.That(gate.TryEnter("wh_slow").Kind, Is.EqualTo(AdmissionKind.Go));
        Assert.That(gate.TryEnter("wh_slow").Since, Is.EqualTo(slowSince), "slow since its first attempt");

        var busySince = time.GetUtcNow();
        Assert.That(gate.TryEnter("wh_busy").Kind, Is.EqualTo(AdmissionKind.Go));
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.That(gate.TryEnter("wh_busy").Kind, Is.EqualTo(AdmissionKind.Go));
        var full = gate.TryEnter("wh_busy");
        Assert.That((full.Kind, full.Since), Is.EqualTo((AdmissionKind.Later, busySince)), "at work since its first attempt");

        gate.Exit("wh_busy", answered: true, TimeSpan.FromMilliseconds(30));
        gate.Exit("wh_busy", answered: true, TimeSpan.FromMilliseconds(30));
        time.Advance(TimeSpan.FromSeconds(3));
        var again = time.GetUtcNow();
        gate.TryEnter("wh_busy");
        gate.TryEnter("wh_busy");
        Assert.That(gate.TryEnter("wh_busy").Since, Is.EqualTo(again), "idle a moment: its work began again");
    }

    [Test]
    public void AWebhookDeletedDuringAnAttempt_IsForgottenWhenItEnds_ThoughItsReceiverIsSlow()
    {
        Assert.That(gate.TryEnter("wh_gone").Kind, Is.EqualTo(AdmissionKind.Go));
        gate.Forget("wh_gone");
        time.Advance(TimeSpan.FromSeconds(10));
        gate.Exit("wh_gone", answered: false, TimeSpan.FromSeconds(10));

        Assert.That(gate.Count, Is.Zero);
    }

    [Test]
    public void SlowReceivers_IdleForTheRetrySchedulesSpan_AreForgotten_NotThoseInFlightOrRecent()
    {
        var idle = TimeSpan.FromHours(1);
        for (var i = 0; i < 50; i++)
        {
            Unanswered($"wh_dead_{i}");
        }
        Assert.That(gate.TryEnter("wh_in_flight").Kind, Is.EqualTo(AdmissionKind.Go));
        time.Advance(idle);
        Unanswered("wh_recent");

        gate.ForgetIdle(idle);

        Assert.That(gate.Count, Is.EqualTo(2), "the one in flight and the one that failed just now");
        Assert.That(gate.TryEnter("wh_recent").Kind, Is.EqualTo(AdmissionKind.CircuitOpen), "still remembered as down");
    }
}
