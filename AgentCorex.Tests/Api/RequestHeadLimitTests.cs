using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using AgentCorex.Tests.Infrastructure;

namespace AgentCorex.Tests.Api;

/// <summary>
/// A request line over 8 KiB (414) and headers over 32 KiB or 100 fields (431) are answered in the contract's shape, at
/// exactly the bounds Kestrel's defaults drew; Kestrel itself would answer them with an empty body. Past Kestrel's own,
/// higher, limits a request is still refused, by Kestrel. Sent over a raw socket, byte for byte.
/// </summary>
public sealed class RequestHeadLimitTests
{
    private AgentCorexApp app = null!;
    private Uri address = null!;

    /// <summary>Kestrel, not the in-memory TestServer: these limits are the HTTP parser's.</summary>
    [OneTimeSetUp]
    public void StartServer() => (app, address) = AgentCorexApp.StartOnKestrel();

    [OneTimeTearDown]
    public void StopServer() => app?.Dispose();

    private const string Host = "Host: x\r\nConnection: close\r\n";

    /// <summary>A GET of /jobs whose request line, its CRLF included, is <paramref name="bytes"/> long.</summary>
    private static string RequestLineOf(int bytes, string path = "/jobs?tool=")
    {
        const string version = " HTTP/1.1\r\n";
        var method = path.StartsWith("/execute_tool", StringComparison.Ordinal) ? "POST " : "GET ";
        return method + path + new string('a', bytes - method.Length - path.Length - version.Length) + version;
    }

    [TestCase(8192, 401)]
    [TestCase(8193, 414)]
    public async Task ARequestLineOverEightKiB_IsUriTooLong_InTheErrorShape(int lineBytes, int expected)
    {
        var (status, json) = await SendAsync(RequestLineOf(lineBytes) + Host + "\r\n");

        Assert.That(status, Is.EqualTo(expected));
        Assert.That(json.Str("error.code"), Is.EqualTo(expected == 414 ? "URI_TOO_LONG" : "UNAUTHORIZED"));
    }

    [Test]
    public async Task AnExecutionRequestLineOverEightKiB_SaysStatusError_AsTheEndpointsOtherErrors()
    {
        var (status, json) = await SendAsync(RequestLineOf(9000, "/execute_tool?x=") + Host + "Content-Length: 0\r\n\r\n");

        Assert.That(status, Is.EqualTo(414));
        Assert.That(json.Str("error.code"), Is.EqualTo("URI_TOO_LONG"));
        Assert.That(json.Str("status"), Is.EqualTo("error"));
    }

    [TestCase(32 * 1024, 401)]
    [TestCase(32 * 1024 + 1, 431)]
    public async Task HeadersOverThirtyTwoKiB_AreHeadersTooLarge_InTheErrorShape(int headerBytes, int expected)
    {
        const string name = "X-Padding: ";
        var padding = name + new string('a', headerBytes - Host.Length - name.Length - 2) + "\r\n";

        var (status, json) = await SendAsync("GET /jobs HTTP/1.1\r\n" + Host + padding + "\r\n");

        Assert.That(status, Is.EqualTo(expected));
        Assert.That(json.Str("error.code"), Is.EqualTo(expected == 431 ? "HEADERS_TOO_LARGE" : "UNAUTHORIZED"));
    }

    [TestCase(100, 401)]
    [TestCase(101, 431)]
    public async Task MoreThanAHundredHeaderFields_AreHeadersTooLarge_InTheErrorShape(int fields, int expected)
    {
        // Host and Connection are two of them; a name given twice counts twice, as Kestrel counts it.
        var more = string.Concat(Enumerable.Range(0, fields - 2).Select(_ => "X-Same: 1\r\n"));

        var (status, json) = await SendAsync("GET /jobs HTTP/1.1\r\n" + Host + more + "\r\n");

        Assert.That(status, Is.EqualTo(expected));
        Assert.That(json.Str("error.code"), Is.EqualTo(expected == 431 ? "HEADERS_TOO_LARGE" : "UNAUTHORIZED"));
    }

    [Test]
    public async Task PastKestrelsOwnLimits_ARequestIsStillRefused()
    {
        var (lineStatus, _) = await SendAsync(RequestLineOf(64 * 1024) + Host + "\r\n");
        var (headerStatus, _) = await SendAsync("GET /jobs HTTP/1.1\r\n" + Host + "X-Padding: " + new string('a', 128 * 1024) + "\r\n\r\n");

        Assert.That(lineStatus, Is.EqualTo(414));
        Assert.That(headerStatus, Is.EqualTo(431));
    }

    /// <summary>The answer's status, and its body's JSON (null when it has none).</summary>
    private async Task<(int Status, JsonNode? Json)> SendAsync(string request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port, timeout.Token);
        var stream = tcp.GetStream();
        try
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        }
        catch (IOException)
        {
            // refused before the whole head was read; its answer is still there to read
        }
        var answer = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                answer.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // reset after its answer
        }
        var text = Encoding.UTF8.GetString(answer.ToArray());
        var status = int.Parse(text.Split(' ', 3)[1], System.Globalization.CultureInfo.InvariantCulture);
        // The body is chunked: its one chunk is the line that holds the JSON.
        var json = text.Split("\r\n").FirstOrDefault(line => line.StartsWith('{')) is { } line ? JsonNode.Parse(line) : null;
        return (status, json);
    }
}
