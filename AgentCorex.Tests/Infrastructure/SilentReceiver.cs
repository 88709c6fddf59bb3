using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace AgentCorex.Tests.Infrastructure;

/// <summary>
/// A dead receiver on loopback: it accepts every connection and never answers, so each attempt sent to it
/// lasts the whole attempt timeout. It counts the connections it took.
/// </summary>
public sealed class SilentReceiver : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<(Socket Socket, DateTime At)> accepted = new();
    private readonly CancellationTokenSource stop = new();

    private SilentReceiver()
    {
        listener.Start();
        _ = AcceptAsync();
    }

    public static SilentReceiver Start() => new();

    public string Url(string path) => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/{path}";

    public int AcceptedSince(DateTime at) => accepted.Count(a => a.At >= at);

    private async Task AcceptAsync()
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                accepted.Enqueue((await listener.AcceptSocketAsync(stop.Token), DateTime.UtcNow));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        stop.Cancel();
        listener.Stop();
        foreach (var (socket, _) in accepted)
        {
            socket.Dispose();
        }
    }
}
