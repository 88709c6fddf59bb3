using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Storage;
using AgentCorex.Web.Webhooks;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace AgentCorex.Tests.Webhooks;

/// <summary>
/// The delivery rows are the outbox: what a crash leaves of them (an event raised in the ledger whose
/// deliveries were never stored, a row without its Hangfire job, an attempt run twice) still ends in one
/// delivery, and the log is pruned. The sweep runs every 200 ms here and repairs
/// what is 1 s past due.
/// </summary>
[TestFixture(TestStorage.Embedded)]
[TestFixture(TestStorage.PostgreSql)]
public sealed class WebhookOutboxTests(TestStorage storage) : WebhookServerTest(storage)
{
    protected override IDictionary<string, string?> WebhookSettings => new Dictionary<string, string?>
    {
        ["Webhooks:SweepInterval"] = "00:00:00.2",
        ["Webhooks:RepairGrace"] = "00:00:01",
    };

    private async Task<(HttpClient User, string Endpoint, string WebhookId)> NewWebhookAsync(params Answer[] answers)
    {
        var user = App.CreateClient((await App.CreateKeyAsync()).ApiKey);
        var endpoint = Receiver.NewEndpoint(answers);
        return (user, endpoint, (await user.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!);
    }

    [Test]
    public async Task EventRaised_WhoseDeliveriesWereNotStored_IsRaisedAgainByTheSweep_Once()
    {
        var (user, endpoint, _) = await NewWebhookAsync();
        using var _ = user;
        // What a crash between the ledger's change and the storing of its deliveries leaves: the job completed,
        // its event marked, no delivery. A failing insert leaves the same, without killing the test's server.
        await FailDeliveriesOfAsync(JobEventNames.Completed, fail: true);
        string jobId;
        try
        {
            jobId = await user.SubmitAsync("echo", new { message = "not lost" });
            await user.WaitForJobAsync(jobId, j => j.Str("status") == "completed");
            Assert.That(await EventsPendingAsync(jobId), Is.EqualTo(JobEventNames.Bit(JobEventNames.Completed)), "the event stays marked while its deliveries cannot be stored");
            Assert.That(Receiver.Received(endpoint), Is.Empty);
        }
        finally
        {
            await FailDeliveriesOfAsync(JobEventNames.Completed, fail: false);
        }

        var received = (await Receiver.WaitForAsync(endpoint, 1)).Single().Json;
        Assert.That(received.Str("event"), Is.EqualTo("job.completed"));
        Assert.That(received["job"]!["job_id"]!.GetValue<string>(), Is.EqualTo(jobId));
        Assert.That(received["job"]!["result"]!["message"]!.GetValue<string>(), Is.EqualTo("not lost"));
        Assert.That(await EventsPendingAsync(jobId), Is.Zero);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // several sweeps
        Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(1), "raised again once, not once per sweep");
    }

    [Test]
    public async Task OneEvent_RaisedByTwoAtOnce_IsStoredOnce()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        var owner = await OwnerOfAsync(webhookId);
        var job = Ledger.Job(owner, "echo", JobStatus.Completed, executionTimeMs: 3);
        job.Result = """{"message":"once"}""";
        var bit = JobEventNames.Bit(JobEventNames.Completed);
        job.EventsPending = bit;
        await App.AddJobsAsync([job]);

        // The raise after the change and the sweep's raise after a (wrongly presumed) crash, on two nodes.
        await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            await using var scope = App.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<WebhookEvents>().RaiseAsync(job, JobEventNames.Completed, bit, CancellationToken.None);
        }));

        await Receiver.WaitForAsync(endpoint, 1);
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // past the repair grace: the sweep finds nothing left to raise
        Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(1));
        await using var check = App.Services.CreateAsyncScope();
        Assert.That(await check.ServiceProvider.GetRequiredService<AgentCorexDb>().WebhookDeliveries.CountAsync(d => d.JobId == job.Id), Is.EqualTo(1));
        Assert.That(await EventsPendingAsync(job.Id), Is.Zero);
    }

    private async Task<int> EventsPendingAsync(string jobId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Jobs.Where(j => j.Id == jobId).Select(j => j.EventsPending).SingleAsync();
    }

    private async Task<string> OwnerOfAsync(string webhookId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Webhooks.Where(w => w.Id == webhookId).Select(w => w.OwnerKeyId).SingleAsync();
    }

    /// <summary>A trigger that makes storing the deliveries of one event fail, as a database fault would.</summary>
    private async Task FailDeliveriesOfAsync(string eventName, bool fail)
    {
        const string trigger = "injected_delivery_failure";
        await (fail
            ? AddTriggerAsync(trigger, "BEFORE INSERT ON webhook_deliveries", $"NEW.event = '{eventName}'")
            : DropTriggerAsync(trigger, "webhook_deliveries"));
    }

    /// <summary>
    /// A trigger (<paramref name="on"/>: "BEFORE INSERT ON webhook_deliveries", say) that runs <paramref name="action"/>
    /// for each row <paramref name="when"/> holds of, or without one fails the statement, as a database fault would.
    /// </summary>
    private async Task AddTriggerAsync(string name, string on, string when, string? action = null) =>
        await ExecuteAsync(Storage == TestStorage.PostgreSql
            ? $"""
                CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {action ?? "RAISE EXCEPTION 'injected failure'"}; RETURN NEW; END $$;
                CREATE TRIGGER {name} {on} FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}();
                """
            : $"CREATE TRIGGER {name} {on} WHEN {when} BEGIN {action ?? "SELECT RAISE(ABORT, 'injected failure')"}; END;");

    private async Task DropTriggerAsync(string name, string table) =>
        await ExecuteAsync(Storage == TestStorage.PostgreSql ? $"DROP TRIGGER {name} ON {table}; DROP FUNCTION {name}();" : $"DROP TRIGGER {name};");

    private async Task ExecuteAsync(string sql)
    {
        await using var scope = App.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AgentCorexDb>().Database.ExecuteSqlRawAsync(sql);
    }

    [Test]
    public async Task Event_WhoseWebhookIsDeletedWhileItIsRaised_IsStoredForTheOwnersOtherWebhooks()
    {
        var (user, endpoint, kept) = await NewWebhookAsync();
        using var _ = user;
        var deleted = (await user.RegisterWebhookAsync(Receiver.NewEndpoint(), "job.completed")).Str("webhook_id")!;
        var job = Ledger.Job(await OwnerOfAsync(kept), "echo", JobStatus.Completed, executionTimeMs: 3);
        var bit = JobEventNames.Bit(JobEventNames.Completed);
        job.EventsPending = bit;
        await App.AddJobsAsync([job]);
        // The deletion lands after the raise read the webhooks: inside its transaction, as the mark is cleared.
        const string trigger = "injected_webhook_deletion";
        await AddTriggerAsync(trigger, "AFTER UPDATE OF events_pending ON jobs", $"NEW.job_id = '{job.Id}'",
            action: $"DELETE FROM webhooks WHERE webhook_id = '{deleted}'");
        try
        {
            await using var scope = App.Services.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<WebhookEvents>().RaiseAsync(job, JobEventNames.Completed, bit, CancellationToken.None);
        }
        finally
        {
            await DropTriggerAsync(trigger, "jobs");
        }

        await using var check = App.Services.CreateAsyncScope();
        var stored = await check.ServiceProvider.GetRequiredService<AgentCorexDb>().WebhookDeliveries.Where(d => d.JobId == job.Id).Select(d => d.WebhookId).ToListAsync();
        Assert.That(stored, Is.EqualTo(new[] { kept }), "stored at once, not left to the sweep's raise");
        Assert.That(await EventsPendingAsync(job.Id), Is.Zero);
        Assert.That((await Receiver.WaitForAsync(endpoint, 1)).Single().Json["job"]!["job_id"]!.GetValue<string>(), Is.EqualTo(job.Id));
    }

    [Test]
    public async Task PendingDelivery_WithoutItsJob_IsDeliveredByTheSweep_ButNotOneInFlight()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        var now = DateTime.UtcNow;
        var lost = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, now.AddMinutes(-5));
        var inFlight = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, now.AddMinutes(-5), inFlightUntil: now.AddMinutes(10));

        Assert.That((await Receiver.WaitForAsync(endpoint, 1)).Single().Headers["webhook-id"], Is.EqualTo(lost.Id));
        var later = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow.AddMinutes(-1));
        var received = await Receiver.WaitForAsync(endpoint, 2);

        Assert.That(received.Select(r => r.Headers["webhook-id"]), Is.EqualTo(new[] { lost.Id, later.Id }), "several sweeps later, the one in flight is left to its attempt");
        var (delivered, attempts) = await App.FindDeliveryAsync(lost.Id);
        Assert.That(delivered!.Status, Is.EqualTo(DeliveryStatus.Delivered));
        Assert.That(attempts, Is.EqualTo(1));
        Assert.That((await App.FindDeliveryAsync(inFlight.Id)).Attempts, Is.Zero);
    }

    [Test]
    public async Task TwoRunsOfOneAttempt_SendItOnce()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync(new Answer(200, Delay: TimeSpan.FromMilliseconds(500)));
        using var _ = user;
        // Not yet due for the sweep: only the two runs below send it.
        var delivery = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, DateTime.UtcNow, nextAttemptAt: DateTime.UtcNow.AddHours(1));

        // As a repair pass racing a late job, or Hangfire running a job again, would run it.
        var hangfire = App.Services.GetRequiredService<IBackgroundJobClient>();
        var runs = new[] { WebhookDispatcher.Enqueue(hangfire, delivery.Id), WebhookDispatcher.Enqueue(hangfire, delivery.Id) };
        await App.WaitForHangfireJobsAsync(runs, "Succeeded");

        Assert.That(Receiver.Received(endpoint), Has.Count.EqualTo(1));
        var (stored, attempts) = await App.FindDeliveryAsync(delivery.Id);
        Assert.That(stored!.Status, Is.EqualTo(DeliveryStatus.Delivered));
        Assert.That(attempts, Is.EqualTo(1));
    }

    [Test]
    public async Task PendingDelivery_PastItsScheduleEnd_WhoseRunsKeepFailing_IsGivenUpByTheSweep()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        // Every run of it fails before recording anything: the database refuses its claim.
        var delivery = await LastAttemptLostAsync(webhookId);
        const string trigger = "injected_claim_failure";
        await AddTriggerAsync(trigger, "BEFORE UPDATE OF in_flight_until ON webhook_deliveries",
            $"NEW.delivery_id = '{delivery.Id}' AND NEW.in_flight_until IS NOT NULL");
        try
        {
            var ended = await user.WaitForEndedDeliveryAsync(webhookId, "job.completed", TimeSpan.FromSeconds(10));

            Assert.That(ended.Str("status"), Is.EqualTo("failed"));
            var attempts = ended["attempts"]!.AsArray();
            Assert.That(attempts, Has.Count.EqualTo(4));
            Assert.That(attempts[3]!.Str("error"), Is.EqualTo(
                "not sent: its attempt could not be made (the server's log says why), and the delivery's retry schedule has run out"));
            Assert.That(Receiver.Received(endpoint), Is.Empty);
        }
        finally
        {
            await DropTriggerAsync(trigger, "webhook_deliveries");
        }
    }

    [Test]
    public async Task PendingDelivery_WhoseLastAttemptWasLost_IsStillMade_AfterItsScheduleEnd()
    {
        var (user, endpoint, webhookId) = await NewWebhookAsync();
        using var _ = user;
        var delivery = await LastAttemptLostAsync(webhookId);

        Assert.That((await Receiver.WaitForAsync(endpoint, 1)).Single().Headers["webhook-id"], Is.EqualTo(delivery.Id));
        Assert.That((await user.WaitForEndedDeliveryAsync(webhookId, "job.completed")).Str("status"), Is.EqualTo("delivered"));
    }

    /// <summary>A delivery whose last attempt, due within its schedule (26 h with the defaults), lost its job; the schedule ended a day ago.</summary>
    private Task<WebhookDelivery> LastAttemptLostAsync(string webhookId)
    {
        var created = DateTime.UtcNow.AddDays(-2);
        return App.AddDeliveryAsync(webhookId, DeliveryStatus.Pending, created, nextAttemptAt: created.AddHours(1), attempts: 3);
    }

    [Test]
    public async Task EndedDeliveries_OlderThanTheRetention_AreDeleted_WithTheirAttempts()
    {
        var (user, _, webhookId) = await NewWebhookAsync();
        using var __ = user;
        var now = DateTime.UtcNow;
        var oldDelivered = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Delivered, now.AddDays(-8), attempts: 2);
        var oldFailed = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Failed, now.AddDays(-7.1), attempts: 1);
        var recent = await App.AddDeliveryAsync(webhookId, DeliveryStatus.Delivered, now.AddDays(-6.9), attempts: 1);

        await user.WaitForDeliveriesAsync(webhookId, d => d.Count == 1);

        Assert.That(await App.FindDeliveryAsync(oldDelivered.Id), Is.EqualTo(((WebhookDelivery?)null, 0)), "the attempts go with their delivery");
        Assert.That(await App.FindDeliveryAsync(oldFailed.Id), Is.EqualTo(((WebhookDelivery?)null, 0)));
        Assert.That((await App.FindDeliveryAsync(recent.Id)).Attempts, Is.EqualTo(1), "kept: within the default 7 days");
    }
}
