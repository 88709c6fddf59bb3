using System.Net;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Cluster;

/// <summary>
/// A node whose PostgreSQL is restarted by its operator (pg_ctl restart, a fast shutdown: every session ended) while
/// the node runs. The cluster is this fixture's own, so that restarting it disturbs no other fixture.
/// </summary>
[NonParallelizable]
public sealed class DatabaseRestartTests
{
    private PostgresCluster cluster = null!;
    private AgentCorexApp app = null!;

    [SetUp]
    public async Task StartServerOnAClusterOfItsOwn()
    {
        cluster = await PostgresCluster.StartPrivateAsync();
        app = new AgentCorexApp(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "PostgreSql",
            ["ConnectionStrings:AgentCorex"] = await cluster.CreateDatabaseAsync(),
            ["Network:AllowPrivateTargets"] = "true", // a webhook to a loopback address nothing listens on
        });
    }

    [TearDown]
    public async Task StopServer()
    {
        app?.Dispose();
        if (cluster is not null)
        {
            await cluster.StopAsync();
        }
    }

    /// <summary>
    /// The restart ends every connection idle in the node's pools (the ledger's, the counts', Hangfire's), and Npgsql
    /// finds out only when it next uses one: each used to fail the request that met it with 503 although the database was
    /// back. Five restarts, each right after requests on every path left idle connections in every pool.
    /// </summary>
    [Test]
    public async Task RightAfterTheDatabaseRestarts_ARequestOnEveryPath_Succeeds()
    {
        using var admin = app.CreateAdminClient();
        using var client = app.CreateClient(await KeyAsync(admin, new { name = "one at once", plan = "pro", rate_limits = new { max_concurrent = 1 } }));
        using var hooks = app.CreateClient(await KeyAsync(admin, new { name = "hooks", plan = "pro" }));
        var webhook = (await (await hooks.PostJsonAsync("/webhooks", new { url = "http://127.0.0.1:9/hook", events = new[] { "job.completed" } })).ReadObjectAsync()).Str("webhook_id");
        var done = await client.SubmitAsync("echo", new { message = "done" });
        await client.WaitForFinalAsync(done);
        var holding = await client.SubmitAsync("wait", new { duration_ms = 600_000 }); // holds the key's only slot
        await client.WaitForStatusAsync(holding, "running");

        var paths = new (string Path, HttpStatusCode Expected, Func<string, Task<HttpResponseMessage>> Send)[]
        {
            ("POST /jobs/submit", HttpStatusCode.Accepted, _ => client.PostJsonAsync("/jobs/submit", new { tool = "echo", arguments = new { message = "m" } })),
            ("GET /jobs/{job_id}", HttpStatusCode.OK, _ => client.GetAsync($"/jobs/{done}")),
            ("GET /jobs", HttpStatusCode.OK, _ => client.GetAsync("/jobs?limit=5")),
            ("DELETE /jobs/{job_id}", HttpStatusCode.OK, queued => client.DeleteAsync($"/jobs/{queued}")),
            ("POST /execute_tool", HttpStatusCode.OK, _ => admin.PostJsonAsync("/execute_tool", new { tool = "echo", arguments = new { message = "m" } })),
            ("GET /jobs/{job_id}/stream", HttpStatusCode.OK, _ => client.GetAsync($"/jobs/{done}/stream")),
            ("GET /api_keys", HttpStatusCode.OK, _ => admin.GetAsync("/api_keys")),
            ("POST /api_keys", HttpStatusCode.Created, _ => admin.PostJsonAsync("/api_keys", new { name = "made after", plan = "free" })),
            ("GET /webhooks", HttpStatusCode.OK, _ => hooks.GetAsync("/webhooks")),
            ("GET /webhooks/{webhook_id}/deliveries", HttpStatusCode.OK, _ => hooks.GetAsync($"/webhooks/{webhook}/deliveries")),
            ("POST /webhooks", HttpStatusCode.Created, _ => hooks.PostJsonAsync("/webhooks", new { url = "http://127.0.0.1:9/other", events = new[] { "job.failed" } })),
            ("GET /health/ready", HttpStatusCode.OK, _ => admin.GetAsync("/health/ready")),
        };

        for (var restart = 1; restart <= 5; restart++)
        {
            // Idle connections in every pool: each path three times at once (but those that delete, or make webhooks, of
            // which a key may have 20); and a job parked behind the running one, to cancel.
            var warming = await Task.WhenAll(Enumerable.Range(0, 3).SelectMany(_ => paths
                .Where(p => p.Path is not ("DELETE /jobs/{job_id}" or "POST /webhooks"))
                .Select(p => p.Send(""))));
            Assert.That(warming.Select(r => r.StatusCode), Has.None.EqualTo(HttpStatusCode.ServiceUnavailable), "before the restart");
            var queued = await client.SubmitAsync("echo", new { message = "queued behind the running job" });

            await cluster.RestartAsync();
            var answers = await Task.WhenAll(paths.Select(async p =>
            {
                using var response = await p.Send(queued);
                return (p.Path, p.Expected, Actual: response.StatusCode, Body: await response.Content.ReadAsStringAsync());
            }));

            Assert.That(answers.Where(a => a.Actual != a.Expected).Select(a => $"{a.Path}: {(int)a.Actual} {a.Body}"), Is.Empty, $"restart {restart}");
        }
    }

    private static async Task<string> KeyAsync(HttpClient admin, object key) =>
        (await (await admin.PostJsonAsync("/api_keys", key)).ReadObjectAsync()).Str("api_key")!;
}
