using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// The ledger's rarer transitions (repair, hand-over, cancel, interruption), each a single guarded statement: it
/// changes the row only from the state it expects, and says whether it did.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class LedgerTransitionTests(TestStorage storage) : ServerTest(storage)
{
    private static readonly TokensUsed NoTokens = new(0, 0);

    // No worker takes the seeded jobs, and no repair pass touches them meanwhile.
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Jobs:WorkerCount"] = "0",
        ["Jobs:ReconcileInterval"] = "01:00:00",
    };

    [Test]
    public async Task RecordRequeue_TakesTheRepairOnlyOverTheHangfireIdItSaw()
    {
        var job = await SeedAsync(JobStatus.Queued);

        Assert.That(await Ledger(l => l.TryRecordRequeueAsync(job.Id, previous: "17", "18", default)), Is.False, "nothing recorded yet, not 17");
        Assert.That(await Ledger(l => l.TryRecordRequeueAsync(job.Id, previous: null, "18", default)), Is.True);
        Assert.That((await ReadAsync(job.Id)).HangfireId, Is.EqualTo("18"));
        Assert.That(await Ledger(l => l.TryRecordRequeueAsync(job.Id, previous: null, "19", default)), Is.False, "another pass recorded 18 first");
        Assert.That(await Ledger(l => l.TryRecordRequeueAsync(job.Id, previous: "18", "19", default)), Is.True);
        Assert.That((await ReadAsync(job.Id)).HangfireId, Is.EqualTo("19"));

        var parked = await SeedAsync(JobStatus.Queued, parked: true);
        var running = await SeedAsync(JobStatus.Running);
        Assert.That(await Ledger(l => l.TryRecordRequeueAsync(parked.Id, null, "20", default)), Is.False, "a parked job waits for its key");
        Assert.That(await Ledger(l => l.TryRecordRequeueAsync(running.Id, null, "21", default)), Is.False, "it started meanwhile");
    }

    [Test]
    public async Task Unpark_OnlyAParkedQueuedJob()
    {
        var parked = await SeedAsync(JobStatus.Queued, parked: true);
        var canceled = await SeedAsync(JobStatus.Canceled, parked: true);

        Assert.That(await Ledger(l => l.TryUnparkAsync(parked.Id, default)), Is.True);
        Assert.That((await ReadAsync(parked.Id)).Parked, Is.False);
        Assert.That(await Ledger(l => l.TryUnparkAsync(parked.Id, default)), Is.False, "already unparked");
        Assert.That(await Ledger(l => l.TryUnparkAsync(canceled.Id, default)), Is.False, "canceled while parked");
    }

    [Test]
    public async Task Cancel_OnlyFromTheStatusSeen_KeepingWhoCanceled()
    {
        var queued = await SeedAsync(JobStatus.Queued);
        var admin = new JobCanceler("admin key key_abc");

        Assert.That(await Ledger(l => l.TryCancelAsync(queued.Id, JobStatus.Running, admin, 0, default)), Is.False, "it is not running");
        Assert.That(await Ledger(l => l.TryCancelAsync(queued.Id, JobStatus.Queued, admin, 0, default)), Is.True);
        var row = await ReadAsync(queued.Id);
        Assert.That(row.Status, Is.EqualTo(JobStatus.Canceled));
        Assert.That(row.CompletedAt, Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)));
        Assert.That(row.ErrorMessage, Is.EqualTo("Canceled by admin key key_abc before it started"));
        Assert.That(await Ledger(l => l.TryCancelAsync(queued.Id, JobStatus.Queued, admin, 0, default)), Is.False, "already canceled");
    }

    [Test]
    public async Task CancelOfARun_TakesOnlyItsOwnAttempt_NotANewerOneThatTookTheJobOver()
    {
        var running = await SeedAsync(JobStatus.Running, attempt: 2);

        Assert.That(await Ledger(l => l.TryCancelAsync(running.Id, attempt: 1, JobCanceler.HangfireState, 0, NoTokens, DateTime.UtcNow, default)), Is.False, "attempt 2 took it over");
        var untouched = await ReadAsync(running.Id);
        Assert.That((untouched.Status, untouched.Attempt, untouched.CompletedAt, untouched.ErrorMessage), Is.EqualTo((JobStatus.Running, 2, (DateTime?)null, (string?)null)));

        Assert.That(await Ledger(l => l.TryCancelAsync(running.Id, attempt: 2, JobCanceler.HangfireState, 0, new TokensUsed(12, 3), DateTime.UtcNow, default)), Is.True);
        var canceled = await ReadAsync(running.Id);
        Assert.That((canceled.Status, canceled.ErrorMessage), Is.EqualTo((JobStatus.Canceled, "Canceled by a change of its Hangfire job's state while running")));
        Assert.That((canceled.TokensInput, canceled.TokensOutput), Is.EqualTo((12L, 3L)), "the tokens its tool had reported");
        Assert.That(await Ledger(l => l.TryCancelAsync(running.Id, attempt: 2, JobCanceler.HangfireState, 0, NoTokens, DateTime.UtcNow, default)), Is.False, "already canceled");
    }

    [Test]
    public async Task TokensOfACanceledRun_GoOnlyOnItsAttemptCanceled()
    {
        var running = await SeedAsync(JobStatus.Running, attempt: 2);
        var admin = new JobCanceler("admin key key_x");

        Assert.That(await Ledger(l => l.TryKeepCanceledTokensAsync(running.Id, attempt: 2, new TokensUsed(40, 2), default)), Is.False, "not canceled yet");
        Assert.That(await Ledger(l => l.TryCancelAsync(running.Id, JobStatus.Running, admin, 0, default)), Is.True);
        Assert.That(await Ledger(l => l.TryKeepCanceledTokensAsync(running.Id, attempt: 1, new TokensUsed(40, 2), default)), Is.False, "not its attempt");
        Assert.That(await Ledger(l => l.TryKeepCanceledTokensAsync(running.Id, attempt: 2, new TokensUsed(40, 2), default)), Is.True);

        var canceled = await ReadAsync(running.Id);
        Assert.That((canceled.Status, canceled.ErrorMessage, canceled.TokensInput, canceled.TokensOutput),
            Is.EqualTo((JobStatus.Canceled, "Canceled by admin key key_x while running", 40L, 2L)));
    }

    [Test]
    public async Task Interrupt_RequeuesOrFails_OnlyTheAttemptThatRan()
    {
        var retried = await SeedAsync(JobStatus.Running);
        var failed = await SeedAsync(JobStatus.Running);

        Assert.That(await Ledger(l => l.TryInterruptAsync(retried.Id, attempt: 2, CutOffEnd.RunAgain, 0, default)), Is.False, "another attempt");
        Assert.That(await Ledger(l => l.TryInterruptAsync(retried.Id, attempt: 1, CutOffEnd.RunAgain, 0, default)), Is.True);
        Assert.That(await Ledger(l => l.TryInterruptAsync(failed.Id, attempt: 1, CutOffEnd.NotSafeToRetry, 0, default)), Is.True);

        var back = await ReadAsync(retried.Id);
        Assert.That((back.Status, back.StartedAt), Is.EqualTo((JobStatus.Queued, (DateTime?)null)));
        var ended = await ReadAsync(failed.Id);
        Assert.That((ended.Status, ended.ErrorCode), Is.EqualTo((JobStatus.Failed, JobErrors.ServerRestarted)));
        Assert.That(ended.ErrorMessage, Does.Contain("not safe to run twice"));
        Assert.That(ended.CompletedAt, Is.Not.Null);
        Assert.That(await Ledger(l => l.TryInterruptAsync(failed.Id, attempt: 1, CutOffEnd.NotSafeToRetry, 0, default)), Is.False, "already ended");
    }

    /// <summary>
    /// A start as the attempt after the one its worker read: a job another worker started, that was cut off and queued
    /// again since (attempt 1 now, read as 0), is not started as attempt 1 a second time, which would count its two runs
    /// as one against Jobs:MaxAttempts.
    /// </summary>
    [Test]
    public async Task Start_OnlyAsTheAttemptAfterTheOneRead()
    {
        var requeued = await SeedAsync(JobStatus.Queued, attempt: 1);

        Assert.That(await Ledger(l => l.TryStartAsync(requeued.Id, "31", attempt: 1, DateTime.UtcNow, 0, default)), Is.False, "read before its first run");
        Assert.That(await Ledger(l => l.TryStartAsync(requeued.Id, "31", attempt: 2, DateTime.UtcNow, 0, default)), Is.True);
        var started = await ReadAsync(requeued.Id);
        Assert.That((started.Status, started.Attempt, started.HangfireId), Is.EqualTo((JobStatus.Running, 2, "31")));
        Assert.That(await Ledger(l => l.TryStartAsync(requeued.Id, "32", attempt: 3, DateTime.UtcNow, 0, default)), Is.False, "no longer queued");
    }

    [Test]
    public async Task TakeBack_RemovesOnlyAQueuedJob_NotOneAHangfireJobWhoseCreateSeemedToFailStarted()
    {
        var queued = await SeedAsync(JobStatus.Queued);
        var running = await SeedAsync(JobStatus.Running);
        var completed = await SeedAsync(JobStatus.Completed);

        Assert.That(await Ledger(l => l.RemoveAsync(queued.Id, default)), Is.True);
        Assert.That(await Ledger(l => l.RemoveAsync(running.Id, default)), Is.False, "its Hangfire job started it");
        Assert.That(await Ledger(l => l.RemoveAsync(completed.Id, default)), Is.False, "and even ended it");
        Assert.That(await CountAsync(queued.Id, running.Id, completed.Id), Is.EqualTo(2));
    }

    private async Task<JobEntry> SeedAsync(string status, bool parked = false, int attempt = 1)
    {
        var key = await App.CreateKeyAsync();
        var job = Infrastructure.Ledger.Job(key.KeyId, "echo", status);
        job.Parked = parked;
        job.Attempt = attempt;
        await App.AddJobsAsync([job]);
        return job;
    }

    private async Task<T> Ledger<T>(Func<JobLedger, Task<T>> transition)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await transition(scope.ServiceProvider.GetRequiredService<JobLedger>());
    }

    private async Task<JobEntry> ReadAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.AsNoTracking().SingleAsync(j => j.Id == jobId);
    }

    private async Task<int> CountAsync(params string[] jobIds)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.CountAsync(j => jobIds.Contains(j.Id));
    }
}
