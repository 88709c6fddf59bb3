using System.Diagnostics;
using System.Net;
using AgentCorex.Tests.Infrastructure;
using Npgsql;

namespace AgentCorex.Tests.Cluster;

/// <summary>
/// Several real server processes on one PostgreSQL database form one cluster: any node answers for any job,
/// workers on every node share the queue, and a node killed with kill -9 loses none of its jobs.
/// </summary>
[NonParallelizable]
public sealed class ClusterTests
{
    private string data = null!;
    private string connectionString = null!;

    [SetUp]
    public async Task MakeDatabase()
    {
        data = Directory.CreateTempSubdirectory("agentcorex-cluster-").FullName;
        connectionString = (await ServerTest.PostgreSqlSettingsAsync())["ConnectionStrings:AgentCorex"]!;
    }

    [TearDown]
    public void RemoveDataFolder() => Directory.Delete(data, recursive: true);

    /// <param name="settings">Settings of the test's own, added to (or replacing) the cluster's.</param>
    private Task<ServerProcess> StartNodeAsync(int workers, string name, IDictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:AgentCorex"] = connectionString,
            ["Jobs:WorkerCount"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Jobs:InvisibilityTimeout"] = "00:00:05",
            ["Jobs:CancellationCheckInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            all[key] = value;
        }
        return ServerProcess.StartAsync(Directory.CreateDirectory(Path.Combine(data, name)).FullName, all);
    }

    /// <summary>Two nodes started together; when one fails to start, the other is not left running.</summary>
    private async Task<(ServerProcess A, ServerProcess B)> StartTwoAtOnceAsync(int workers, IDictionary<string, string>? settings = null)
    {
        var starting = new[] { StartNodeAsync(workers, "a", settings), StartNodeAsync(workers, "b", settings) };
        try
        {
            await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }
            throw;
        }
        return (starting[0].Result, starting[1].Result);
    }

    [Test]
    public async Task Jobs_SubmittedToEitherNode_AreProcessedByBoth_AndReadableFromBoth()
    {
        // Both first starts at once on an empty database: each creates or migrates the schema without tripping the other.
        var (a, b) = await StartTwoAtOnceAsync(workers: 2);
        await using var _ = a;
        await using var __ = b;
        using var clientA = a.CreateClient();
        using var clientB = b.CreateClient();

        var jobs = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            // Jobs long enough that one node's two workers cannot take them all before the other's look.
            jobs.Add(await (i % 2 == 0 ? clientA : clientB).SubmitAsync("wait", new { duration_ms = 500 }));
        }
        foreach (var id in jobs)
        {
            var fromOther = await clientB.WaitForFinalAsync(id, within: TimeSpan.FromSeconds(30));
            Assert.That(fromOther.Str("status"), Is.EqualTo("completed"), fromOther.ToJsonString());
            Assert.That((await clientA.GetJobAsync(id)).Str("status"), Is.EqualTo("completed"));
        }

        var servers = await ProcessingServersAsync(jobs);
        Assert.That(servers, Has.Count.EqualTo(2), "both nodes' workers ran jobs");
        var listed = await (await clientA.GetAsync("/jobs?limit=100")).ReadObjectAsync();
        Assert.That(listed["jobs"]!.AsArray().Select(j => j.Str("job_id")), Is.SupersetOf(jobs), "a node lists the jobs the other one took");
    }

    [Test]
    public async Task ApiOnlyNode_ReadsProgress_CancelsAndTimesOut_JobsRunningOnAnotherNode()
    {
        await using var api = await StartNodeAsync(workers: 0, "api");
        await using var worker = await StartNodeAsync(workers: 1, "worker");
        using var client = api.CreateClient();

        var progressing = await client.SubmitAsync("wait", new { duration_ms = 3000, steps = 30 });
        var seen = await client.WaitForJobAsync(progressing, j => j.Str("progress.current_step")?.StartsWith("step-", StringComparison.Ordinal) == true, TimeSpan.FromSeconds(15));
        Assert.That(seen.At("progress.total_steps")!.GetValue<int>(), Is.EqualTo(30), "progress written on the worker node, read on the API node");
        var (response, stream) = await ServerSentEventReader.OpenAsync(client, $"/jobs/{progressing}/stream");
        using (response)
        using (stream)
        {
            var events = await stream.ReadToEndAsync(TimeSpan.FromSeconds(15));
            Assert.That(events.Count(e => e.Data.Str("progress.current_step")?.StartsWith("step-", StringComparison.Ordinal) == true), Is.GreaterThan(1), "streamed from the API node");
            Assert.That(events[^1].Data.Str("status"), Is.EqualTo("completed"));
        }

        var longJob = await client.SubmitAsync("wait", new { duration_ms = 60_000 });
        await client.WaitForStatusAsync(longJob, "running", TimeSpan.FromSeconds(15));
        var canceledAt = DateTime.UtcNow;
        var cancel = await client.DeleteAsync($"/jobs/{longJob}?force=true");
        Assert.That(cancel.StatusCode, Is.EqualTo(HttpStatusCode.OK), await cancel.Content.ReadAsStringAsync());
        Assert.That((await client.GetJobAsync(longJob)).Str("status"), Is.EqualTo("canceled"));

        // The worker's only worker is free again within 1 s plus the cancellation check interval: the tool stopped.
        var next = await client.SubmitAsync("echo", new { message = "after the cancel" });
        var after = await client.WaitForFinalAsync(next, TimeSpan.FromSeconds(10));
        Assert.That(after.Str("status"), Is.EqualTo("completed"));
        Assert.That(DateTime.UtcNow - canceledAt, Is.LessThan(TimeSpan.FromSeconds(3)), "the canceled job's worker was released");

        var timingOut = await client.SubmitAsync("test_ignore_token", new { duration_ms = 5000 }, timeoutMs: 300);
        var ended = await client.WaitForFinalAsync(timingOut, TimeSpan.FromSeconds(10));
        Assert.That(ended.Str("status"), Is.EqualTo("timeout"), ended.ToJsonString());
        Assert.That(ended.Str("error.code"), Is.EqualTo("EXECUTION_TIMEOUT"));
    }

    [Test]
    public async Task NodeKilledMidJob_LosesNoJob_AnotherNodeTakesItsJobsOver()
    {
        await using var doomed = await StartNodeAsync(workers: 2, "doomed");
        using var toDoomed = doomed.CreateClient();
        var unsafeJob = await toDoomed.SubmitAsync("test_side_effect", new { duration_ms = 120_000 });
        var safeJob = await toDoomed.SubmitAsync("wait", new { duration_ms = 2000, steps = 2 });
        await toDoomed.WaitForStatusAsync(unsafeJob, "running");
        await toDoomed.WaitForStatusAsync(safeJob, "running");
        List<string> queued = [];
        for (var i = 0; i < 4; i++)
        {
            queued.Add(await toDoomed.SubmitAsync("echo", new { message = $"queued {i}" }));
        }

        await using var survivor = await StartNodeAsync(workers: 2, "survivor");
        await doomed.KillAsync();
        using var client = survivor.CreateClient();

        foreach (var id in queued)
        {
            Assert.That((await client.WaitForFinalAsync(id, TimeSpan.FromSeconds(20))).Str("status"), Is.EqualTo("completed"), "queued jobs run on the other node");
        }
        // Taken over once the killed node's jobs become visible again (Jobs:InvisibilityTimeout, 5 s here).
        var unsafeEnd = await client.WaitForFinalAsync(unsafeJob, TimeSpan.FromSeconds(30));
        var safeEnd = await client.WaitForFinalAsync(safeJob, TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(unsafeEnd.Str("status"), Is.EqualTo("failed"), survivor.Output);
            Assert.That(unsafeEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(safeEnd.Str("status"), Is.EqualTo("completed"), "a tool safe to retry runs again");
            Assert.That(safeEnd.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(2000));
        });
        var running = await (await client.GetAsync("/jobs?status=running")).ReadObjectAsync();
        Assert.That(running.At("pagination.total")!.GetValue<int>(), Is.Zero, "no job is left running");
    }

    /// <summary>
    /// The run another node takes over is the job's next: a job of a tool safe to retry cut off in its last run
    /// (Jobs:MaxAttempts, 1 here) ends failed SERVER_RESTARTED when Hangfire hands it to the survivor, and is not run again.
    /// </summary>
    [Test]
    public async Task NodeKilledMidJob_InItsLastRun_TheJobEndsFailed_WhenAnotherNodeTakesItOver()
    {
        var once = new Dictionary<string, string> { ["Jobs:MaxAttempts"] = "1" };
        await using var doomed = await StartNodeAsync(workers: 1, "doomed", once);
        using var toDoomed = doomed.CreateClient();
        var job = await toDoomed.SubmitAsync("wait", new { duration_ms = 600_000 }, timeoutMs: 600_000);
        await toDoomed.WaitForStatusAsync(job, "running");

        await using var survivor = await StartNodeAsync(workers: 1, "survivor", once);
        await doomed.KillAsync();
        using var client = survivor.CreateClient();

        var end = await client.WaitForFinalAsync(job, TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(end.Str("status"), Is.EqualTo("failed"), survivor.Output);
            Assert.That(end.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(end.Str("error.message"), Does.Contain("in run 1 of at most 1 (Jobs:MaxAttempts)"));
        });
    }

    /// <summary>
    /// A killed node's Hangfire servers (its tools' and its webhooks') leave the dashboard's Servers within
    /// Jobs:ServerTimeout plus Jobs:ServerCheckInterval of its last heartbeat: 75 s with the 1 minute timeout these
    /// nodes set and the default 15 s check (5¼ minutes at the default 5 minute timeout). Hangfire's own check
    /// interval (5 minutes) kept them listed for up to 10 minutes.
    /// </summary>
    [Test]
    public async Task NodeKilled_LeavesTheServersList_WithinItsServerTimeoutAndACheck_WhileTheLiveOneStays()
    {
        var (doomed, survivor) = await StartTwoAtOnceAsync(workers: 1, new Dictionary<string, string> { ["Jobs:ServerTimeout"] = "00:01:00" });
        await using var killed = doomed;
        await using var live = survivor;
        await WaitForServersAsync(ids => Listed(ids, doomed) == 2 && Listed(ids, survivor) == 2, TimeSpan.FromSeconds(30));

        await doomed.KillAsync();
        var killedAt = Stopwatch.StartNew();
        var after = await WaitForServersAsync(ids => Listed(ids, doomed) == 0, TimeSpan.FromSeconds(90));

        Assert.That(Listed(after, survivor), Is.EqualTo(2), "the live node's servers stay");
        TestContext.Out.WriteLine($"the killed node's servers left the list {killedAt.Elapsed} after the kill");
    }

    /// <summary>
    /// A Hangfire server that finds its row gone (another node took it for dead: it could not write its heartbeat
    /// for Jobs:ServerTimeout, the database away or stalled that long) restarts in place, which fires its running
    /// jobs' tokens. That is a cut-off, not a cancel: the ledger's restart rules apply, and Hangfire runs the jobs
    /// again after the restart. Without the distinction both jobs ended canceled, as if their owner had canceled them.
    /// The job run again starts again: its second job.started says which run it is.
    /// </summary>
    [Test]
    public async Task HangfireServerRestartedInPlace_CutsItsRunningJobsOff_AsARestartDoes_NotCanceled()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var node = await StartNodeAsync(workers: 2, "node", new Dictionary<string, string>
        {
            ["Jobs:ServerHeartbeatInterval"] = "00:00:05",
            ["Jobs:ServerTimeout"] = "00:00:30",
            ["Jobs:ServerCheckInterval"] = "00:00:05",
            ["Network:AllowPrivateTargets"] = "true",
        });
        using var client = node.CreateClient();
        var starts = receiver.NewEndpoint();
        await client.RegisterWebhookAsync(starts, "job.started");
        var unsafeJob = await client.SubmitAsync("test_side_effect", new { duration_ms = 120_000 });
        // Longer than a heartbeat, so that it is still running when its server restarts.
        var safeJob = await client.SubmitAsync("wait", new { duration_ms = 8000, steps = 2 });
        await client.WaitForStatusAsync(unsafeJob, "running");
        await client.WaitForStatusAsync(safeJob, "running");

        // As another node removes a server it takes for dead; the node's next heartbeat finds it gone and restarts.
        var removed = await RemoveServersAsync(node);
        var unsafeEnd = await client.WaitForFinalAsync(unsafeJob, TimeSpan.FromSeconds(30));
        var safeEnd = await client.WaitForFinalAsync(safeJob, TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(removed, Is.EqualTo(2), "the node's two servers, its tools' and its webhooks'");
            Assert.That(unsafeEnd.Str("status"), Is.EqualTo("failed"), unsafeEnd.ToJsonString());
            Assert.That(unsafeEnd.Str("error.code"), Is.EqualTo("SERVER_RESTARTED"));
            Assert.That(safeEnd.Str("status"), Is.EqualTo("completed"), safeEnd.ToJsonString());
            Assert.That(safeEnd.At("result.waited_ms")!.GetValue<long>(), Is.EqualTo(8000), "a tool safe to retry runs again, whole");
            Assert.That(node.Output, Does.Contain("restarting").And.Contain("was cut off: its Hangfire server"));
        });
        Assert.That(await AttemptAsync(safeJob), Is.EqualTo(2), "the safe job ran a second time");
        var started = (await receiver.WaitForAsync(starts, 3)).Select(r => r.Json).ToList();
        Assert.That(started.Where(p => p.Str("job.job_id") == safeJob).Select(p => p.At("job.attempt")?.GetValue<int>()), Is.EquivalentTo(new[] { 1, 2 }));
        Assert.That(started.Where(p => p.Str("job.job_id") == unsafeJob).Select(p => p.At("job.attempt")?.GetValue<int>()), Is.EqualTo(new[] { 1 }));
    }

    /// <summary>
    /// The webhooks' Hangfire server restarting in place fires the token of the attempt it is making: that attempt is
    /// cut off, not made. Hangfire runs its job again once the server is back, and the attempt is made then, whole:
    /// no attempt spent on the cut-off request, no unanswered attempt held against the receiver (its circuit stays
    /// closed), nothing given up, and the answered attempt recorded once.
    /// </summary>
    [Test]
    public async Task WebhookServerRestartedInPlace_MakesTheAttemptItCutOffAgain_AsTheSameAttempt()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        // Its first answer takes 20 s, within the 40 s an attempt has here: the attempt is in flight when its server restarts.
        var endpoint = receiver.NewEndpoint(new Answer(200, Delay: TimeSpan.FromSeconds(20)));
        await using var node = await StartNodeAsync(workers: 1, "node", new Dictionary<string, string>
        {
            ["Jobs:ServerHeartbeatInterval"] = "00:00:05",
            ["Jobs:ServerTimeout"] = "00:00:30",
            ["Jobs:ServerCheckInterval"] = "00:00:05",
            ["Network:AllowPrivateTargets"] = "true",
            ["Webhooks:AttemptTimeout"] = "00:00:40",
        });
        using var client = node.CreateClient();
        var webhookId = (await client.RegisterWebhookAsync(endpoint, "job.completed")).Str("webhook_id")!;
        await client.SubmitAsync("echo", new { message = "in flight" });
        await receiver.WaitForAsync(endpoint, 1);

        var removed = await RemoveServersAsync(node);
        var delivery = await client.WaitForEndedDeliveryAsync(webhookId, "job.completed", TimeSpan.FromSeconds(60));
        var requests = receiver.Received(endpoint);

        Assert.Multiple(() =>
        {
            Assert.That(removed, Is.EqualTo(2), "the node's two servers, its tools' and its webhooks'");
            Assert.That(delivery.Str("status"), Is.EqualTo("delivered"), delivery.ToJsonString());
            Assert.That(delivery["attempts"]!.AsArray().Select(a => $"{a!["attempt"]}: {a["status_code"]} {a["error"]}"), Is.EqualTo(new[] { "1: 200 " }),
                "the cut-off request is no attempt of its own");
            Assert.That(requests, Has.Count.EqualTo(2), "sent again after the restart");
            Assert.That(requests.Select(r => r.Headers["webhook-id"]).Distinct().Count(), Is.EqualTo(1));
            Assert.That(requests[1].At - requests[0].At, Is.LessThan(TimeSpan.FromSeconds(20)), "made again once its server was back, not after a retry's delay");
            Assert.That(node.Output, Does.Contain("restart"));
        });
        // The attempt's Hangfire job ends Succeeded, with the attempt recorded once; nothing is left to send it again.
        await WaitForDeliveryJobsAsync(delivery.Str("delivery_id")!, states => states.Count > 0 && states.All(s => s == "Succeeded"));
        Assert.That(receiver.Received(endpoint), Has.Count.EqualTo(2));
    }

    /// <summary>Polls the current states of the Hangfire jobs of a delivery's attempts until they satisfy the condition.</summary>
    private async Task WaitForDeliveryJobsAsync(string deliveryId, Func<List<string>, bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT statename FROM hangfire.job WHERE arguments::text LIKE @id", connection);
            command.Parameters.AddWithValue("id", $"%{deliveryId}%");
            List<string> states = [];
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    states.Add(reader.GetString(0));
                }
            }
            if (condition(states))
            {
                return;
            }
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.Fail($"the Hangfire jobs of {deliveryId} did not reach the expected states; last seen: {string.Join(", ", states)}");
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private static int Listed(IEnumerable<string> ids, ServerProcess node) => ids.Count(id => IsOf(id, node));

    /// <summary>Whether a Hangfire server id (machine:pid:guid, machine:webhooks:pid:guid) is one of this node's.</summary>
    private static bool IsOf(string serverId, ServerProcess node) => serverId.Contains($":{node.ProcessId}:", StringComparison.Ordinal);

    /// <summary>Deletes the node's rows from hangfire.server, as another node's check does with a server it takes for dead.</summary>
    private async Task<int> RemoveServersAsync(ServerProcess node)
    {
        var ids = (await ServerIdsAsync()).Where(id => IsOf(id, node)).ToArray();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("DELETE FROM hangfire.server WHERE id = ANY(@ids)", connection);
        command.Parameters.AddWithValue("ids", ids);
        return await command.ExecuteNonQueryAsync();
    }

    /// <summary>Polls the servers the dashboard's Servers page lists (ids machine:pid:guid, machine:webhooks:pid:guid) until they satisfy the condition.</summary>
    private async Task<List<string>> WaitForServersAsync(Func<List<string>, bool> condition, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var ids = await ServerIdsAsync();
            if (condition(ids))
            {
                return ids;
            }
            if (deadline.Elapsed > within)
            {
                Assert.Fail($"the servers listed did not reach the expected state within {within}; last seen: {string.Join(", ", ids)}");
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>The ids of the servers the dashboard's Servers page lists (machine:pid:guid, machine:webhooks:pid:guid).</summary>
    private async Task<List<string>> ServerIdsAsync()
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id FROM hangfire.server", connection);
        await using var reader = await command.ExecuteReaderAsync();
        List<string> ids = [];
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    [Test]
    public async Task LongJob_OnALiveNode_IsNotTakenOver_AfterTheInvisibilityTimeout()
    {
        await using var a = await StartNodeAsync(workers: 1, "a");
        await using var b = await StartNodeAsync(workers: 1, "b");
        using var client = a.CreateClient();

        // Twice the invisibility timeout: without the sliding heartbeat the other node would run it a second time.
        var job = await client.SubmitAsync("wait", new { duration_ms = 11_000 });
        var ended = await client.WaitForFinalAsync(job, TimeSpan.FromSeconds(30));

        Assert.That(ended.Str("status"), Is.EqualTo("completed"), ended.ToJsonString());
        Assert.That(await AttemptAsync(job), Is.EqualTo(1), "the job ran once");
    }

    [Test]
    public async Task RequestLimits_HoldAcrossNodes_TwoNodesNeverDoubleAKeysAllowance()
    {
        var (a, b) = await StartTwoAtOnceAsync(workers: 1);
        await using var _ = a;
        await using var __ = b;
        using var admin = a.CreateClient();
        var created = await (await admin.PostJsonAsync("/api_keys", new { name = "limited", plan = "pro", rate_limits = new { requests_per_minute = 4 } })).ReadObjectAsync();
        using var toA = a.CreateClient(created.Str("api_key")!);
        using var toB = b.CreateClient(created.Str("api_key")!);
        // After the slow part (two starts): the six submits must fall in one window.
        await RateLimits.RateLimitTests.StartOfAFreshMinuteAsync(secondsNeeded: 15);

        var statuses = new List<HttpStatusCode>();
        foreach (var client in new[] { toA, toB, toA, toB, toA, toB })
        {
            statuses.Add((await client.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "hi" } })).StatusCode);
        }

        Assert.That(statuses, Is.EqualTo(new[]
        {
            HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted, HttpStatusCode.Accepted,
            HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests,
        }));
    }

    [Test]
    public async Task ExecutionsAtOnce_HoldAcrossNodes_TwoNodesNeverDoubleAKeysSlots()
    {
        var (a, b) = await StartTwoAtOnceAsync(workers: 2);
        await using var _ = a;
        await using var __ = b;
        using var admin = a.CreateClient();
        var created = await (await admin.PostJsonAsync("/api_keys", new
        {
            name = "two at once", plan = "pro", rate_limits = new { requests_per_minute = 1_000, max_concurrent = 2 },
        })).ReadObjectAsync();
        using var toA = a.CreateClient(created.Str("api_key")!);
        using var toB = b.CreateClient(created.Str("api_key")!);

        // Four workers between the two nodes, eight jobs submitted to both at once: never more than two running.
        var jobs = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => (i % 2 == 0 ? toA : toB).SubmitAsync("wait", new { duration_ms = 600 })));
        foreach (var id in jobs)
        {
            Assert.That((await toA.WaitForFinalAsync(id, within: TimeSpan.FromSeconds(30))).Str("status"), Is.EqualTo("completed"));
        }
        var mostAtOnce = await MostRunningAtOnceAsync(jobs);

        // A direct execution on one node counts against the slot a job holds on the other.
        var adminKey = await (await admin.PostJsonAsync("/api_keys", new
        {
            name = "one at once", plan = "enterprise", admin = true, rate_limits = new { max_concurrent = 1 },
        })).ReadObjectAsync();
        using var adminToA = a.CreateClient(adminKey.Str("api_key")!);
        using var adminToB = b.CreateClient(adminKey.Str("api_key")!);
        var holding = await adminToA.SubmitAsync("wait", new { duration_ms = 2_000 });
        await adminToA.WaitForStatusAsync(holding, "running", TimeSpan.FromSeconds(10));
        var refused = await adminToB.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "now" } });
        await adminToB.WaitForFinalAsync(holding);
        var allowed = await adminToB.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "now" } });

        Assert.Multiple(() =>
        {
            // Which node runs them is Hangfire's choice (the node that hands a waiting job over wakes its own idle worker first).
            Assert.That(mostAtOnce, Is.EqualTo(2), "the key's two slots, shared by both nodes");
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(allowed.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    /// <summary>The most of these jobs the ledger had running at one moment, from their start and end times.</summary>
    private async Task<int> MostRunningAtOnceAsync(IEnumerable<string> jobIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT started_at, completed_at FROM jobs WHERE job_id = ANY(@ids)", connection);
        command.Parameters.AddWithValue("ids", jobIds.ToArray());
        var edges = new List<(DateTime At, int Change)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            edges.Add((reader.GetDateTime(0), +1));
            edges.Add((reader.GetDateTime(1), -1));
        }
        var (running, most) = (0, 0);
        foreach (var (_, change) in edges.OrderBy(e => e.At).ThenBy(e => e.Change))
        {
            running += change;
            most = Math.Max(most, running);
        }
        return most;
    }

    /// <summary>The Hangfire servers whose workers processed these jobs, from Hangfire's own state history.</summary>
    private async Task<HashSet<string>> ProcessingServersAsync(IEnumerable<string> jobIds)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT DISTINCT s.data::json->>'ServerId'
            FROM jobs j JOIN hangfire.state s ON s.jobid = CAST(j.hangfire_id AS bigint)
            WHERE j.job_id = ANY(@ids) AND s.name = 'Processing'
            """, connection);
        command.Parameters.AddWithValue("ids", jobIds.ToArray());
        var servers = new HashSet<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            servers.Add(reader.GetString(0));
        }
        return servers;
    }

    private async Task<int> AttemptAsync(string jobId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT attempt FROM jobs WHERE job_id = @id", connection);
        command.Parameters.AddWithValue("id", jobId);
        return Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
