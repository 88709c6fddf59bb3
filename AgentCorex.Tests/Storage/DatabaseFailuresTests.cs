using System.Data.Common;
using AgentCorex.Web.Storage;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Storage;

/// <summary>How long a write is tried again while the database is unavailable, and what is never tried again.</summary>
public sealed class DatabaseFailuresTests
{
    private sealed class Unavailable() : DbException("the database is restarting")
    {
        public override bool IsTransient => true;
    }

    private sealed class Refused() : DbException("duplicate key")
    {
        public override bool IsTransient => false;
    }

    private FakeTimeProvider time = null!;
    private List<Exception> heard = null!;

    [SetUp]
    public void NewClock()
    {
        time = new FakeTimeProvider();
        heard = [];
    }

    [Test]
    public async Task AWrite_IsTriedAgain_UntilTheDatabaseTakesIt_AndTheFirstFailureAloneIsHeardOf()
    {
        var tries = 0;
        var writing = DatabaseFailures.RetryWhileUnavailableAsync(
            () => ++tries < 4 ? throw new InvalidOperationException("wrapped", new Unavailable()) : Task.FromResult(tries),
            TimeSpan.FromMinutes(1), time, heard.Add, CancellationToken.None);

        await AdvanceWhileAsync(writing);

        Assert.That(await writing, Is.EqualTo(4));
        Assert.That(heard, Has.Count.EqualTo(1));
    }

    [Test]
    public void AWrite_TheDatabaseRefusesForGood_IsNotTriedAgain()
    {
        var tries = 0;
        Assert.ThrowsAsync<Refused>(() => DatabaseFailures.RetryWhileUnavailableAsync<int>(
            () => { tries++; throw new Refused(); }, TimeSpan.FromMinutes(1), time, heard.Add, CancellationToken.None));
        Assert.That(tries, Is.EqualTo(1));
    }

    [Test]
    public async Task AnOutageLongerThanThePatience_EndsInItsLastFailure_WithinThePatience()
    {
        var start = time.GetUtcNow();
        var writing = DatabaseFailures.RetryWhileUnavailableAsync<int>(
            () => throw new Unavailable(), TimeSpan.FromSeconds(30), time, heard.Add, CancellationToken.None);

        await AdvanceWhileAsync(writing);

        Assert.ThrowsAsync<Unavailable>(() => writing);
        Assert.That(time.GetUtcNow() - start, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(time.GetUtcNow() - start, Is.GreaterThan(TimeSpan.FromSeconds(20)), "it waited out most of its patience, pausing at most 5 s");
    }

    [Test]
    public void GivingUp_EndsTheWaitingAtOnce()
    {
        using var giveUp = new CancellationTokenSource();
        var writing = DatabaseFailures.RetryWhileUnavailableAsync<int>(
            () => throw new Unavailable(), TimeSpan.MaxValue, time, heard.Add, giveUp.Token);

        giveUp.Cancel();

        Assert.That(() => writing, Throws.InstanceOf<OperationCanceledException>());
    }

    /// <summary>Moves the fake clock on by the shortest pause until the write has ended.</summary>
    private async Task AdvanceWhileAsync(Task writing)
    {
        for (var steps = 0; !writing.IsCompleted && steps < 10_000; steps++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Yield();
        }
        Assert.That(writing.IsCompleted, Is.True, "the write ended");
    }
}
