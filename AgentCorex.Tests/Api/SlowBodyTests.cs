using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>
/// A body that trickles in below Kestrel's minimum data rate (240 bytes a second, after a grace of 5 s) is answered
/// 408 in the contract's shape: the client learns that it was too slow, not that its request "could not be read".
/// </summary>
public sealed class SlowBodyTests
{
    [Test]
    public async Task ABodySentAByteASecond_IsAnsweredRequestTimeout_InTheErrorShape()
    {
        // Kestrel, not the in-memory TestServer, which enforces no data rate.
        var (started, address) = AgentCorexApp.StartOnKestrel();
        using var app = started;
        const string body = """{"tool":"echo","arguments":{"message":"slowly, slowly"}}""";
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        var head = $"POST /jobs/submit HTTP/1.1\r\nHost: {address.Authority}\r\nAuthorization: Bearer {AgentCorexApp.AdminKey}\r\n"
            + $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var answer = ReadAnswerAsync(stream, timeout.Token);
        foreach (var b in Encoding.ASCII.GetBytes(body))
        {
            if (answer.IsCompleted)
            {
                break;
            }
            try
            {
                await stream.WriteAsync(new[] { b }, timeout.Token);
            }
            catch (IOException)
            {
                break; // the server has answered and closed
            }
            await Task.WhenAny(answer, Task.Delay(1000, timeout.Token));
        }
        var response = await answer;

        var status = response[..response.IndexOf("\r\n", StringComparison.Ordinal)];
        // The body is chunked: its one chunk is the line that holds the JSON.
        var json = JsonNode.Parse(response.Split("\r\n").Single(line => line.StartsWith('{')))!;
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo("HTTP/1.1 408 Request Timeout"), response);
            Assert.That(json.Str("error.code"), Is.EqualTo("REQUEST_TIMEOUT"), response);
            Assert.That(json.Str("status"), Is.EqualTo("error"), "an execution endpoint's error says so");
        });
    }

    /// <summary>Everything the server sends until it closes the connection.</summary>
    private static async Task<string> ReadAnswerAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var answer = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                answer.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // reset after its answer
        }
        return Encoding.UTF8.GetString(answer.ToArray());
    }
}
