using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A real HTTP server on loopback that webhooks are sent to. Each test takes an endpoint of its own, scripted
/// with the answers it gives in turn (then 200), and reads what that endpoint received.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Answer>> scripts = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<ReceivedWebhook>> received = new();

    private WebhookReceiver(WebApplication app) => this.app = app;

    public string BaseUrl { get; private set; } = "";

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var receiver = new WebhookReceiver(builder.Build());
        receiver.app.MapPost("/hooks/{id}", receiver.HandleAsync);
        await receiver.app.StartAsync();
        receiver.BaseUrl = receiver.app.Urls.Single();
        return receiver;
    }

    /// <summary>A new endpoint answering with these, in turn, then 200.</summary>
    public string NewEndpoint(params Answer[] answers)
    {
        var id = Guid.NewGuid().ToString("N");
        scripts[id] = new ConcurrentQueue<Answer>(answers);
        received[id] = new ConcurrentQueue<ReceivedWebhook>();
        return $"{BaseUrl}/hooks/{id}";
    }

    public IReadOnlyList<ReceivedWebhook> Received(string endpoint) => [.. received[IdOf(endpoint)]];

    /// <summary>Polls until the endpoint has received at least <paramref name="count"/> requests.</summary>
    public async Task<IReadOnlyList<ReceivedWebhook>> WaitForAsync(string endpoint, int count, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var got = Received(endpoint);
            if (got.Count >= count)
            {
                return got;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"{endpoint} received {got.Count} of {count} webhooks in time: {string.Join(" | ", got.Select(r => r.Body))}");
            }
            await Task.Delay(20);
        }
    }

    private async Task HandleAsync(string id, HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        received.GetOrAdd(id, _ => new ConcurrentQueue<ReceivedWebhook>()).Enqueue(new ReceivedWebhook(DateTime.UtcNow, headers, body, context.Connection.Id));

        var answer = scripts.TryGetValue(id, out var script) && script.TryDequeue(out var next) ? next : Answer.Ok;
        if (answer.Delay > TimeSpan.Zero)
        {
            await Task.Delay(answer.Delay, context.RequestAborted);
        }
        if (answer.HeldUntil is { } held)
        {
            await held.WaitAsync(context.RequestAborted);
        }
        if (answer.Location is not null)
        {
            context.Response.Headers.Location = answer.Location;
        }
        if (answer.RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = answer.RetryAfter;
        }
        context.Response.StatusCode = answer.Status;
    }

    private static string IdOf(string endpoint) => endpoint[(endpoint.LastIndexOf('/') + 1)..];

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

/// <summary>
/// What an endpoint answers to one request: a status, after a delay (or once <paramref name="HeldUntil"/> has
/// completed, for an attempt the test keeps in flight as long as it needs), with a Location or a Retry-After.
/// </summary>
public sealed record Answer(int Status, TimeSpan Delay = default, string? Location = null, string? RetryAfter = null, Task? HeldUntil = null)
{
    public static readonly Answer Ok = new(200);
}

/// <param name="Connection">Which connection of the receiver's it came on.</param>
public sealed record ReceivedWebhook(DateTime At, IReadOnlyDictionary<string, string> Headers, string Body, string Connection)
{
    public JsonObject Json => JsonNode.Parse(Body)!.AsObject();

    public string? Event => Json.Str("event");
}
