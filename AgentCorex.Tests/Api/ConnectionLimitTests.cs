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
        // The readiness checks' connection may still be closing on the server's side.
        await Task.Delay(TimeSpan.FromMilliseconds(500));

        using var first = await OpenAsync(server.BaseAddress);
        using var second = await OpenAsync(server.BaseAddress);
        Assert.That(await AnswerAsync(first), Does.StartWith("HTTP/1.1 200"));
        Assert.That(await AnswerAsync(second), Does.StartWith("HTTP/1.1 200"));

        using (var third = await OpenAsync(server.BaseAddress))
        {
            Assert.That(await AnswerAsync(third), Is.Empty, "a third connection is closed without an answer");
        }

        first.Close();
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // the server sees the close
        using var fourth = await OpenAsync(server.BaseAddress);
        Assert.That(await AnswerAsync(fourth), Does.StartWith("HTTP/1.1 200"));
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
