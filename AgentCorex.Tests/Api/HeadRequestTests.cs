using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>
/// HEAD wherever GET (RFC 9110): the same status and headers, and no body. Against the server as a real process,
/// since Kestrel drops a HEAD's body itself where the in-process test server hands it to the client, and over a
/// bare connection, so that a byte of body, or a HEAD still being handled, shows.
/// </summary>
[NonParallelizable]
public sealed class HeadRequestTests
{
    /// <summary>Headers that frame or date one answer, which HEAD may leave out or give otherwise.</summary>
    private static readonly string[] Framing = ["Date", "Content-Length", "Transfer-Encoding"];

    private string dataDirectory = null!;
    private ServerProcess server = null!;
    private HttpClient admin = null!;
    private HttpClient getter = null!;
    private string jobId = null!;
    private string webhookId = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        dataDirectory = Directory.CreateTempSubdirectory("agentcorex-head-").FullName;
        // Private targets allowed only to register a webhook whose deliveries list can be asked for.
        server = await ServerProcess.StartAsync(dataDirectory, new Dictionary<string, string> { ["Network:AllowPrivateTargets"] = "true" });
        admin = server.CreateClient();
        // Redirects not followed: a HEAD is compared with the GET's own answer.
        getter = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = server.BaseAddress };
        jobId = await admin.SubmitAsync("echo", new { message = "head" });
        await admin.WaitForFinalAsync(jobId);
        webhookId = (await admin.RegisterWebhookAsync("http://127.0.0.1:9/hooks/nobody", "job.timeout")).Str("webhook_id")!;
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        admin?.Dispose();
        getter?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
        Directory.Delete(dataDirectory, recursive: true);
    }

    [Test]
    public async Task EveryGetRoute_AnswersHead_WithTheSameStatusAndHeaders_AndNoBody()
    {
        var document = JsonNode.Parse(await admin.GetStringAsync("/openapi/v1.json"))!;
        var documented = document["paths"]!.AsObject()
            .Where(path => path.Value!["get"] is not null)
            .Select(path => path.Key.Replace("{name}", "echo").Replace("{job_id}", jobId).Replace("{webhook_id}", webhookId))
            .ToList();
        Assert.That(documented, Has.Count.GreaterThanOrEqualTo(8), "the document lists the API's GET routes");
        var others = new[]
        {
            "/health/live", "/health/ready", "/openapi/v1.json", "/docs", "/metrics", "/hangfire",
            "/tools/no_such_tool", "/tools/%20", "/jobs/job_doesnotexist1", "/jobs/job_doesnotexist1/stream",
        };

        await Assert.MultipleAsync(async () =>
        {
            foreach (var path in documented.Concat(others))
            {
                await AssertHeadAnswersAsGetAsync(path, AgentCorexApp.AdminKey);
            }
            // Authentication applies to HEAD as to GET.
            foreach (var path in new[] { "/tools", $"/jobs/{jobId}", "/api_keys", "/hangfire", $"/jobs/{jobId}/stream?access_token={AgentCorexApp.AdminKey}" })
            {
                await AssertHeadAnswersAsGetAsync(path, apiKey: null);
            }
        });
    }

    [Test]
    public async Task HeadOfTheStream_OfARunningJob_AnswersTheStreamsHeaders_AndEndsAtOnce()
    {
        var running = await admin.SubmitAsync("wait", new { duration_ms = 60_000 });
        await admin.WaitForStatusAsync(running, "running");
        try
        {
            // A GET stays open, sending events; a HEAD that did would hold its connection, and the request after it, waiting.
            await AssertHeadAnswersAsGetAsync($"/jobs/{running}/stream", AgentCorexApp.AdminKey);
        }
        finally
        {
            await admin.DeleteAsync($"/jobs/{running}?force=true");
        }
    }

    [Test]
    public async Task PostOnlyRoute_AnswersHead_MethodNotAllowed()
    {
        var (status, headers) = await HeadAsync("/execute_tool", AgentCorexApp.AdminKey);

        Assert.That((status, headers.GetValueOrDefault("Allow")), Is.EqualTo((405, "POST")));
    }

    private async Task AssertHeadAnswersAsGetAsync(string path, string? apiKey)
    {
        var (status, headers) = await HeadAsync(path, apiKey);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (apiKey is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }
        using var get = await getter.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var getHeaders = get.Headers.Concat(get.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);

        Assert.That(status, Is.EqualTo((int)get.StatusCode), $"HEAD {path}");
        Assert.That(headers.Keys.Except(Framing, StringComparer.OrdinalIgnoreCase), Is.EquivalentTo(getHeaders.Keys.Except(Framing, StringComparer.OrdinalIgnoreCase)), $"HEAD {path}: headers");
        Assert.That(headers.TryGetValue("Content-Type", out var type) ? System.Net.Http.Headers.MediaTypeHeaderValue.Parse(type).ToString() : null,
            Is.EqualTo(get.Content.Headers.ContentType?.ToString()), $"HEAD {path}: Content-Type");
    }

    /// <summary>
    /// HEAD <paramref name="path"/> with GET /health/live sent behind it on the same connection: the second answer's status
    /// line must follow the HEAD's headers at once (no body) and soon (a HEAD still being handled keeps it waiting).
    /// </summary>
    private async Task<(int Status, Dictionary<string, string> Headers)> HeadAsync(string path, string? apiKey)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var connection = tcp.GetStream();
        var host = server.BaseAddress.Authority;
        var authorization = apiKey is null ? "" : $"Authorization: Bearer {apiKey}\r\n";
        await connection.WriteAsync(Encoding.ASCII.GetBytes(
            $"HEAD {path} HTTP/1.1\r\nHost: {host}\r\n{authorization}\r\n" +
            $"GET /health/live HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"));

        var received = new MemoryStream();
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await connection.CopyToAsync(received, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"HEAD {path}: the connection was still busy after 10 s; received:\n{Encoding.Latin1.GetString(received.ToArray())}");
            }
        }
        var text = Encoding.Latin1.GetString(received.ToArray());
        var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.That(headEnd, Is.GreaterThan(0), $"HEAD {path}: no answer:\n{text}");
        Assert.That(text[(headEnd + 4)..], Does.StartWith("HTTP/1.1 200 OK\r\n"), $"HEAD {path}: what followed its headers:\n{text}");

        var lines = text[..headEnd].Split("\r\n");
        var headers = lines.Skip(1).Select(line => line.Split(':', 2))
            .ToDictionary(h => h[0].Trim(), h => h[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return (int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers);
    }
}
