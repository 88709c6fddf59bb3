using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>One server-sent event as a client sees it: its id and its data (a job's JSON).</summary>
public sealed record ServerSentEvent(string? Id, JsonObject Data);

/// <summary>Reads a text/event-stream response the way EventSource does: fields up to a blank line make an event.</summary>
public sealed class ServerSentEventReader(StreamReader reader) : IDisposable
{
    public int Comments { get; private set; }

    public static async Task<(HttpResponseMessage Response, ServerSentEventReader Events)> OpenAsync(
        HttpClient client, string url, string? lastEventId = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return (response, new ServerSentEventReader(new StreamReader(stream)));
    }

    /// <summary>The next event, or null when the server closed the stream.</summary>
    public Task<ServerSentEvent?> NextAsync(CancellationToken cancellationToken) => NextAsync(int.MaxValue, cancellationToken);

    /// <summary>
    /// The next event, or null when <paramref name="keepAlives"/> comment lines came first (the server sends one after
    /// each Streaming:KeepAliveInterval without an event) or the server closed the stream.
    /// </summary>
    public async Task<ServerSentEvent?> NextAsync(int keepAlives, CancellationToken cancellationToken)
    {
        var until = keepAlives == int.MaxValue ? int.MaxValue : Comments + keepAlives;
        string? id = null;
        var data = new List<string>();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Count > 0)
                {
                    return new ServerSentEvent(id, JsonNode.Parse(string.Join('\n', data))!.AsObject());
                }
                continue;
            }
            if (line.StartsWith(':'))
            {
                if (++Comments >= until)
                {
                    return null;
                }
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line["id: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Add(line["data: ".Length..]);
            }
        }
        return null;
    }

    /// <summary>Every event until the server closes the stream, failing after the deadline.</summary>
    public async Task<List<ServerSentEvent>> ReadToEndAsync(TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        var events = new List<ServerSentEvent>();
        while (await NextAsync(deadline.Token) is { } next)
        {
            events.Add(next);
        }
        return events;
    }

    public void Dispose() => reader.Dispose();
}
