using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A receiver on loopback that answers one request per connection and then closes it, as an HTTP/1.0 server
/// does (Python's http.server by default): "HTTP/1.0 200 OK" with a Content-Length and no Connection header.
/// It closes a moment after answering, as a server finishing its own work first does, which is when a client
/// that kept the connection writes its next request onto it; such a request is never read, only counted.
/// Given "HTTP/1.1", it is a server that closes idle connections at once without saying so.
/// </summary>
public sealed class ClosingReceiver : IDisposable
{
    private static readonly TimeSpan CloseAfter = TimeSpan.FromMilliseconds(50);

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<ReceivedWebhook> received = new();
    private readonly CancellationTokenSource stop = new();
    private readonly string protocol;
    private int connections;
    private int ignored;

    private ClosingReceiver(string protocol)
    {
        this.protocol = protocol;
        listener.Start();
        _ = AcceptAsync();
    }

    public static ClosingReceiver Start(string protocol = "HTTP/1.0") => new(protocol);

    public string Url(string path) => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/{path}";

    public IReadOnlyList<ReceivedWebhook> Received => [.. received];

    /// <summary>Requests written onto a connection after its answer, by a client that kept it.</summary>
    public int Ignored => Volatile.Read(ref ignored);

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                _ = ServeAsync(await listener.AcceptSocketAsync(stop.Token));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        var connection = Interlocked.Increment(ref connections).ToString();
        try
        {
            if (await ReadRequestAsync(socket, connection, stop.Token) is not { } request)
            {
                return;
            }
            received.Enqueue(request);
            var answer = $"{protocol} 200 OK\r\nServer: BaseHTTP/0.6 Python/3.12\r\nDate: {DateTime.UtcNow:R}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
            await socket.SendAsync(Encoding.ASCII.GetBytes(answer), stop.Token);
            await Task.Delay(CloseAfter, stop.Token);
            if (socket.Available > 0)
            {
                Interlocked.Increment(ref ignored);
            }
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
        }
    }

    /// <summary>The request's head and its Content-Length of body; null when the client closed first.</summary>
    private static async Task<ReceivedWebhook?> ReadRequestAsync(Socket socket, string connection, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var length = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (await ReceiveAsync() == 0)
            {
                return null;
            }
        }
        var headers = Encoding.ASCII.GetString(buffer, 0, headEnd).Split("\r\n").Skip(1)
            .Select(line => line.Split(':', 2))
            .ToDictionary(h => h[0].Trim().ToLowerInvariant(), h => h[1].Trim());
        var bodyStart = headEnd + 4;
        var bodyLength = int.Parse(headers.GetValueOrDefault("content-length", "0"));
        while (length < bodyStart + bodyLength)
        {
            if (await ReceiveAsync() == 0)
            {
                return null;
            }
        }
        return new ReceivedWebhook(DateTime.UtcNow, headers, Encoding.UTF8.GetString(buffer, bodyStart, bodyLength), connection);

        async Task<int> ReceiveAsync()
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            length += read;
            return read;
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
    }
}
