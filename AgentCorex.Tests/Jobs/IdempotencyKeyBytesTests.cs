using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Jobs;

/// <summary>
/// An Idempotency-Key whose bytes are no UTF-8 is refused in the contract's shape, as any other key that is not one:
/// Kestrel, decoding headers as UTF-8, answered it an empty 400 before the app. Kestrel over a raw socket, byte for byte.
/// </summary>
public sealed class IdempotencyKeyBytesTests
{
    private AgentCorexApp app = null!;
    private Uri address = null!;

    [OneTimeSetUp]
    public void StartServer() => (app, address) = AgentCorexApp.StartOnKestrel();

    [OneTimeTearDown]
    public void StopServer() => app?.Dispose();

    [TestCase(new byte[] { (byte)'c', (byte)'l', 0xE9 }, TestName = "{m}(Latin-1 é)")]
    [TestCase(new byte[] { (byte)'c', (byte)'l', 0xC3, 0xA9 }, TestName = "{m}(UTF-8 é)")]
    [TestCase(new byte[] { (byte)'a', (byte)',', (byte)'b' }, TestName = "{m}(a comma)")]
    public async Task AKeyOfOtherBytesThanVisibleAscii_IsRefused400_InTheErrorShape(byte[] key)
    {
        const string body = """{"tool":"echo","arguments":{"message":"bytes"}}""";
        var head = Encoding.ASCII.GetBytes(
            $"POST /jobs/submit HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {AgentCorexApp.AdminKey}\r\n" +
            $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\nIdempotency-Key: ");
        byte[] request = [.. head, .. key, .. "\r\n\r\n"u8, .. Encoding.ASCII.GetBytes(body)];

        var (status, json) = await SendAsync(request);

        Assert.That(status, Is.EqualTo(400));
        Assert.That(json.Str("error.code"), Is.EqualTo("INVALID_REQUEST"), json?.ToJsonString());
        Assert.That(json.Str("error.message"), Does.StartWith("Idempotency-Key must be 1 to 255 visible ASCII characters"));
    }

    private async Task<(int Status, JsonNode? Json)> SendAsync(byte[] request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = tcp.GetStream();
        await stream.WriteAsync(request, timeout.Token);
        var answer = new MemoryStream();
        await stream.CopyToAsync(answer, timeout.Token);
        var text = Encoding.UTF8.GetString(answer.ToArray());
        var status = int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        // The JSON, whether sent whole or in one chunk (its size line before it, the last chunk after).
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        var (start, end) = (body.IndexOf('{', StringComparison.Ordinal), body.LastIndexOf('}'));
        return (status, start >= 0 && end > start ? JsonNode.Parse(body[start..(end + 1)]) : null);
    }
}
