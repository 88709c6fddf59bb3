using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace AgentCorex.Bench.Jobs;

/// <summary>
/// Clients of the server as a caller sees it, over real HTTP on loopback. Each load connection is its own
/// single-connection client, so N connections means N sockets, as N callers would open.
/// </summary>
internal sealed class ApiClients(Uri baseAddress)
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private static readonly byte[] EchoJob = Encoding.UTF8.GetBytes("""{"tool":"echo","arguments":{"message":"x"}}""");

    public HttpClient Create(string apiKey) => new(new SocketsHttpHandler { MaxConnectionsPerServer = 1, UseProxy = false, UseCookies = false })
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(30),
        DefaultRequestHeaders = { Authorization = new AuthenticationHeaderValue("Bearer", apiKey) },
    };

    /// <summary>
    /// A non-admin key of the bench's own, made through the API as a client's would be; its own limits are ones
    /// it never reaches, so every submit is counted and takes an execution slot (as on a real key) and none is
    /// refused or kept waiting.
    /// </summary>
    public static async Task<(string KeyId, string ApiKey)> CreateKeyAsync(HttpClient admin, CancellationToken cancellationToken)
    {
        using var response = await admin.PostAsJsonAsync(
            "/api_keys", new { name = "jobs-bench", plan = "enterprise", rate_limits = new { requests_per_minute = 1_000_000, max_concurrent = 10_000 } }, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return (body.RootElement.GetProperty("key_id").GetString()!, body.RootElement.GetProperty("api_key").GetString()!);
    }

    /// <summary>POST /execute_tool of echo, run at once (an admin key's call): the API's path without ledger or Hangfire.</summary>
    public static async Task ExecuteEchoAsync(HttpClient client, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/execute_tool") { Content = new ByteArrayContent(EchoJob) { Headers = { ContentType = Json } } };
        using var response = await client.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new HttpRequestException($"POST /execute_tool answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
        await response.Content.LoadIntoBufferAsync(cancellationToken);
    }

    /// <summary>POST /jobs/submit of an echo job; the job id, or an exception when it was not accepted.</summary>
    public static async Task<string> SubmitEchoAsync(HttpClient client, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/jobs/submit") { Content = new ByteArrayContent(EchoJob) { Headers = { ContentType = Json } } };
        using var response = await client.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new HttpRequestException($"POST /jobs/submit answered {(int)response.StatusCode}: {body}");
        }
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("job_id").GetString()!;
    }
}
