using System.Net.Sockets;
using System.Text;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>
/// Kestrel:Limits:MaxConcurrentConnections bounds what clients hold open on a node: ASP.NET Core does not read it from
/// the configuration by itself, so a real process started with it shows that it is taken.
/// </summary>
[NonParallelizable]
public sealed class ConnectionLimitTests
{
    private static readonly byte[] Request = Encoding.ASCII.GetBytes("GET /health/live HTTP/1.1\r\nHost: localhost\r\n\r\n");

    [Test]
    public async Task ConnectionsBeyondTheLimit_AreClosedUnanswered_UntilOneOfThoseOpenCloses()
    {
        using var data = TempFolder.Create("agentcorex-connections-");
        await using var server = await ServerProcess.StartAsync(data.Path, new Dictionary<string, string> { ["Kestrel:Limits:MaxConcurrentConnections"] = "2" });

        // The readiness checks' connection may still be closing on the server's side: each of the two is tried until served.
        using var first = await ServedAsync(server.BaseAddress);
        using var second = await ServedAsync(server.BaseAddress);

        using (var third = await OpenAsync(server.BaseAddress))
        {
            Assert.That(await AnswerAsync(third), Is.Empty, "a third connection is closed without an answer");
        }

        first.Close();
        using var fourth = await ServedAsync(server.BaseAddress); // once the server has seen the close
    }

    [Test]
    public async Task WithoutTheSetting_ConnectionsAreNotLimited()
    {
        using var data = TempFolder.Create("agentcorex-connections-");
        await using var server = await ServerProcess.StartAsync(data.Path);

        var connections = new List<Socket>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                connections.Add(await OpenAsync(server.BaseAddress));
            }
            foreach (var connection in connections)
            {
                Assert.That(await AnswerAsync(connection), Does.StartWith("HTTP/1.1 200"));
            }
        }
        finally
        {
            connections.ForEach(c => c.Dispose());
        }
    }

    /// <summary>A connection whose GET was answered 200, opened again while the server refuses it, for at most 10 s.</summary>
    private static async Task<Socket> ServedAsync(Uri address)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var socket = await OpenAsync(address);
            var answer = await AnswerAsync(socket);
            if (answer.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
            {
                return socket;
            }
            socket.Dispose();
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"no connection was served within 10 s (last answer: '{answer}')");
            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }
    }

    private static async Task<Socket> OpenAsync(Uri address)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port);
        return socket;
    }

    /// <summary>The start of the answer to a GET on <paramref name="socket"/>; empty when the server closed it instead.</summary>
    private static async Task<string> AnswerAsync(Socket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await socket.SendAsync(Request, SocketFlags.None, timeout.Token);
            var buffer = new byte[64];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read);
        }
        catch (SocketException)
        {
            return ""; // reset rather than closed
        }
    }
}
