using System.Collections.Concurrent;
using System.Net;

namespace AgentCorex.Web.Network;

/// <summary>
/// Sends a request over a pooled connection only to an origin whose last answer kept its connection open, and
/// over a new connection, closed after its answer, to any other. SocketsHttpHandler pools every HTTP/1.x
/// connection not answered with "Connection: close", HTTP/1.0 ones too, though an HTTP/1.0 server closes after
/// each answer unless it says "keep-alive" (RFC 9112, 9.3): a request written onto such a connection before the
/// server's close arrives gets no answer, and SocketsHttpHandler never resends a request that has a body.
/// A kept connection may still close under a request (its idle timeout ran out as the request went), so a
/// request a pooled connection left unanswered goes once more on a new one, whose outcome alone counts.
/// Only a request with no content or buffered content (<see cref="ByteArrayContent"/>, as webhooks have) is resent.
/// </summary>
internal sealed class ConnectionReuseHandler : HttpMessageHandler
{
    private readonly HttpMessageInvoker pooled;
    private readonly HttpMessageInvoker unpooled;
    // Learnt anew by each handler IHttpClientFactory makes (every 2 minutes): a first request goes on a new connection.
    private readonly ConcurrentDictionary<string, bool> keepsConnections = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="create">A handler with the settings wanted; called twice, once for each kind of connection.</param>
    public ConnectionReuseHandler(Func<SocketsHttpHandler> create)
    {
        pooled = new HttpMessageInvoker(create());
        var single = create();
        // A connection's lifetime is over when its response has been read: it is closed, never pooled.
        single.PooledConnectionLifetime = TimeSpan.Zero;
        unpooled = new HttpMessageInvoker(single);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var origin = request.RequestUri!.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
        HttpResponseMessage response;
        if (!keepsConnections.GetValueOrDefault(origin))
        {
            response = await unpooled.SendAsync(request, cancellationToken);
        }
        else
        {
            try
            {
                response = await pooled.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e) when (EndedUnanswered(e) && request.Content is null or ByteArrayContent && !cancellationToken.IsCancellationRequested)
            {
                response = await unpooled.SendAsync(request, cancellationToken);
            }
        }
        keepsConnections[origin] = KeepsConnectionOpen(response);
        return response;
    }

    /// <summary>A connection that was made, then ended (closed or reset) before the answer had come whole.</summary>
    private static bool EndedUnanswered(HttpRequestException e) =>
        e.HttpRequestError is not (HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError) && e.InnerException is IOException;

    /// <summary>RFC 9112, 9.3: "close" ends a connection; without it HTTP/1.1 keeps it, HTTP/1.0 only with "keep-alive".</summary>
    private static bool KeepsConnectionOpen(HttpResponseMessage response) =>
        response.Headers.ConnectionClose != true
        && (response.Version >= HttpVersion.Version11 || response.Headers.Connection.Contains("keep-alive", StringComparer.OrdinalIgnoreCase));

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            pooled.Dispose();
            unpooled.Dispose();
        }
        base.Dispose(disposing);
    }
}
