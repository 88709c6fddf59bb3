using System.Diagnostics;
using System.Net;
using AgentCorex.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace AgentCorex.Tests.Monitoring;

/// <summary>
/// SIGTERM to a real server on the embedded database: the job that can finish within Jobs:ShutdownTimeout does,
/// the rest are left as the restart rules say before the process exits, nothing new is started, and a restart
/// carries on from a consistent ledger.
/// </summary>
[NonParallelizable]
public sealed class GracefulShutdownTests
{
    private static readonly TimeSpan Drain = TimeSpan.FromSeconds(4);

    private string data = null!;

    [SetUp]
    public void MakeDataFolder() => data = Directory.CreateTempSubdirectory("agentcorex-shutdown-").FullName;

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    [Test]
    public async Task Sigterm_LetsRunningToolsFinishUntilTheTimeout_LeavesTheLedgerConsistent_AndExitsInTime()
    {
        var settings = new Dictionary<string, string>
        {
            ["Jobs:WorkerCount"] = "3",
            ["Jobs:ShutdownTimeout"] = "00:00:04",
        };
        string finishing, unsafeJob, safeJob, queued, output;
        DateTime sigtermAt;
        TimeSpan stopping;
        await using (var server = await ServerProcess.StartAsync(data, settings))
        {
            using var client = server.CreateClient();
            finishing = await client.SubmitAsync("wait", new { duration_ms = 2000, steps = 4 });
            unsafeJob = await client.SubmitAsync("test_side_effect", new { duration_ms = 60_000 });
            safeJob = await client.SubmitAsync("wait", new { duration_ms = 8000 });
            foreach (var running in new[] { finishing, unsafeJob, safeJob })
            {
                await client.WaitForStatusAsync(running, "running");
            }
            queued = await client.SubmitAsync("echo", new { message = "waits for the restart" });
            Assert.That((await client.GetJobAsync(queued)).Str("status"), Is.EqualTo("queued"), "all three workers are busy");
            var direct = client.PostJsonAsync("/execute_tool", new { tool = "wait", arguments = new { duration_ms = 30_000 }, timeout_ms = 60_000 });
            // ASP.NET Core's own meter counts the direct execution as an active request once it is under way.
            await PrometheusText.WaitForAsync(client, m => m.Value("http_server_active_requests", ("http_request_method", "POST")) >= 1);

            sigtermAt = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            await server.SendSigtermAsync();
            var notReady = await WaitUntilNotReadyAsync(client);
            var refused = await client.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "too late" } });
            var refusedBody = await refused.ReadObjectAsync();
            await server.WaitForExitAsync();
            stopping = clock.Elapsed;
            output = server.Output;

            var directResponse = await direct;
            var directBody = await directResponse.ReadObjectAsync();
            Assert.Multiple(() =>
            {
                Assert.That(notReady, Is.LessThan(Drain), "/health/ready turned 503 while the jobs drained");
                Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), refusedBody.ToJsonString());
                Assert.That(refusedBody.Str("error.code"), Is.EqualTo("SERVER_SHUTTING_DOWN"));
                Assert.That(directResponse.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), directBody.ToJsonString());
                Assert.That(directBody.Str("error.message"), Does.Contain("shutdown deadline"), "the direct execution ran until the deadline");
            });
        }

        var left = ReadLedger();
        Assert.Multiple(() =>
        {
            Assert.That(stopping, Is.InRange(Drain - TimeSpan.FromSeconds(0.5), Drain + TimeSpan.FromSeconds(8)),
                "it waited for the deadline the side-effect job ran into, and exited soon after");
            Assert.That(left[finishing].Status, Is.EqualTo("completed"), "finished within the timeout");
            Assert.That(left[finishing].CompletedAt, Is.GreaterThan(sigtermAt), "...while the server was stopping");
            Assert.That(left[finishing].Result, Is.EqualTo("""{"waited_ms":2000}"""));
            Assert.That(left[unsafeJob].Status, Is.EqualTo("failed"), "cut off, and not safe to run twice");
            Assert.That(left[unsafeJob].ErrorCode, Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(left[safeJob].Status, Is.EqualTo("queued"), "cut off, and safe to run again");
            Assert.That(left[safeJob].StartedAt, Is.Null);
            Assert.That(left[queued].Status, Is.EqualTo("queued"), "a stopping server fetches no new job");
            Assert.That(output, Does.Contain($"Job {unsafeJob} was still running when the server's shutdown timeout ran out"));
        });

        await using var second = await ServerProcess.StartAsync(data, settings);
        using var again = second.CreateClient();
        var safeEnd = await again.WaitForFinalAsync(safeJob, within: TimeSpan.FromSeconds(20));
        var queuedEnd = await again.WaitForFinalAsync(queued, within: TimeSpan.FromSeconds(20));
        var finishedEnd = await again.GetJobAsync(finishing);
        var unsafeEnd = await again.GetJobAsync(unsafeJob);
        Assert.Multiple(() =>
        {
            Assert.That(safeEnd.Str("status"), Is.EqualTo("completed"), second.Output);
            Assert.That(safeEnd.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(8000));
            Assert.That(queuedEnd.Str("status"), Is.EqualTo("completed"));
            Assert.That(finishedEnd.Str("status"), Is.EqualTo("completed"), "not run again");
            Assert.That(finishedEnd.At("completed_at")!.GetValue<long>(), Is.EqualTo(new DateTimeOffset(left[finishing].CompletedAt!.Value, TimeSpan.Zero).ToUnixTimeSeconds()));
            Assert.That(unsafeEnd.Str("status"), Is.EqualTo("failed"));
            Assert.That(unsafeEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
        });
    }

    [Test]
    public async Task Sigterm_WhileOnlyADirectExecutionRuns_StillAnswersNewConnections_UntilItEnds()
    {
        await using var server = await ServerProcess.StartAsync(data, new Dictionary<string, string> { ["Jobs:ShutdownTimeout"] = "00:00:04" });
        using var client = server.CreateClient();
        var direct = client.PostJsonAsync("/execute_tool", new { tool = "wait", arguments = new { duration_ms = 3000 } });
        await PrometheusText.WaitForAsync(client, m => m.Value("http_server_active_requests", ("http_request_method", "POST")) >= 1);

        await server.SendSigtermAsync();
        // With no job running, the drain used not to wait for the direct execution, and Kestrel stopped listening at once.
        await WaitUntilNotReadyOnFreshConnectionsAsync(server);
        using var another = server.CreateClient();
        var refused = await another.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "too late" } });
        var refusedBody = await refused.ReadObjectAsync();
        var directResponse = await direct;
        var directBody = await directResponse.ReadObjectAsync();
        await server.WaitForExitAsync();

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), refusedBody.ToJsonString());
            Assert.That(refusedBody.Str("error.code"), Is.EqualTo("SERVER_SHUTTING_DOWN"));
            Assert.That(directResponse.StatusCode, Is.EqualTo(HttpStatusCode.OK), directBody.ToJsonString());
            Assert.That(directBody.Str("status"), Is.EqualTo("success"), "it ran to its end within Jobs:ShutdownTimeout");
        });
    }

    [Test]
    public async Task Sigterm_WhileOnlyAWebhookAttemptIsMade_StillAnswersNewConnections_UntilItEnds()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var slow = receiver.NewEndpoint(new Answer(200, Delay: TimeSpan.FromSeconds(3)));
        await using var server = await ServerProcess.StartAsync(data, new Dictionary<string, string>
        {
            ["Jobs:ShutdownTimeout"] = "00:00:04",
            ["Network:AllowPrivateTargets"] = "true", // the receiver is on loopback
        });
        using var client = server.CreateClient();
        await client.RegisterWebhookAsync(slow, "job.completed");
        await client.WaitForStatusAsync(await client.SubmitAsync("echo", new { message = "heard slowly" }), "completed");
        await receiver.WaitForAsync(slow, 1); // the attempt is being made: the receiver answers in 3 s

        await server.SendSigtermAsync();
        // With no job or execution running, the drain used not to wait for the attempt, and Kestrel stopped listening at once.
        await WaitUntilNotReadyOnFreshConnectionsAsync(server);
        var answered = 0;
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(1.5); answered++)
        {
            using var fresh = server.CreateClient();
            var ready = await fresh.GetAsync("/health/ready"); // throws if the server no longer listens
            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            await Task.Delay(100);
        }
        await server.WaitForExitAsync();

        Assert.That(answered, Is.GreaterThan(5), "new connections answered while the attempt was being made");
    }

    /// <summary>
    /// Asks /health/ready on connections made after SIGTERM, as a load balancer's probe or a reader's next request is,
    /// until a stopping server says it is not ready: a server that stopped listening fails this.
    /// </summary>
    private static async Task WaitUntilNotReadyOnFreshConnectionsAsync(ServerProcess server)
    {
        HttpResponseMessage ready;
        var clock = Stopwatch.StartNew();
        do
        {
            using var fresh = server.CreateClient();
            ready = await fresh.GetAsync("/health/ready");
            if (clock.Elapsed > Drain)
            {
                Assert.Fail("/health/ready did not turn 503 after SIGTERM");
            }
        }
        while (ready.StatusCode != HttpStatusCode.ServiceUnavailable);
    }

    /// <summary>Polls /health/ready until a stopping server says it is not ready; how long that took.</summary>
    private static async Task<TimeSpan> WaitUntilNotReadyAsync(HttpClient client)
    {
        var clock = Stopwatch.StartNew();
        while ((await client.GetAsync("/health/ready")).StatusCode != HttpStatusCode.ServiceUnavailable)
        {
            if (clock.Elapsed > Drain)
            {
                Assert.Fail("/health/ready did not turn 503 after SIGTERM");
            }
            await Task.Delay(20);
        }
        return clock.Elapsed;
    }

    /// <summary>The jobs table as the stopped server left it, read straight from its database file.</summary>
    private Dictionary<string, LedgerRow> ReadLedger()
    {
        var rows = new Dictionary<string, LedgerRow>();
        using (var connection = new SqliteConnection($"Data Source={Path.Combine(data, "agentcorex.db")};Mode=ReadOnly;Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT job_id, status, error_code, result, started_at, completed_at FROM jobs";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows[reader.GetString(0)] = new LedgerRow(
                    reader.GetString(1),
                    reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetDateTime(4),
                    reader.IsDBNull(5) ? null : reader.GetDateTime(5));
            }
        }
        return rows;
    }

    private sealed record LedgerRow(string Status, string? ErrorCode, string? Result, DateTime? StartedAt, DateTime? CompletedAt);
}
