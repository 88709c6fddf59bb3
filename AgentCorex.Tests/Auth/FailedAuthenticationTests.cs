using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Tests.Monitoring;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace AgentCorex.Tests.Auth;

/// <summary>
/// Refused credentials are logged for the operator (scheme, address, path, what was wrong; never the credentials) and
/// counted at /metrics; a request without any is neither. On Kestrel, so that a request has a remote address: each test
/// sends from a loopback address of its own (the log is throttled per address; see FailureLogThrottleTests).
/// </summary>
public sealed class FailedAuthenticationTests
{
    private const string Category = "AgentCorex.Web.Auth.FailedAuthentications: ";

    private readonly CapturedLogs logs = new();
    private AgentCorexApp app = null!;
    private WebApplicationFactory<Program> logged = null!;
    private Uri address = null!;

    [OneTimeSetUp]
    public void StartServer()
    {
        app = new AgentCorexApp(new Dictionary<string, string?> { ["urls"] = "http://127.0.0.1:0" });
        logged = app.WithWebHostBuilder(host => host.ConfigureLogging(logging => logging.AddProvider(logs)));
        logged.UseKestrel();
        using var started = logged.CreateClient();
        address = started.BaseAddress!;
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        logged.Dispose();
        app.Dispose();
    }

    /// <summary>A client whose requests come from <paramref name="source"/> (any 127.x.y.z is this host's).</summary>
    private HttpClient From(string source, AuthenticationHeaderValue? authorization = null)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse(source), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        var client = new HttpClient(handler) { BaseAddress = address };
        client.DefaultRequestHeaders.Authorization = authorization;
        return client;
    }

    /// <summary>The messages of the lines about <paramref name="source"/>, without the request's scopes.</summary>
    private IReadOnlyList<string> LinesFrom(string source) =>
        [.. logs.At(LogLevel.Warning)
            .Where(line => line.StartsWith(Category, StringComparison.Ordinal) && line.Contains($" {source} ", StringComparison.Ordinal))
            .Select(line => line[Category.Length..].Split("  [")[0].TrimEnd())];

    private static string MadeUpKey() => "acx_" + Random.Shared.GetHexString(12, lowercase: true) + "_" + Random.Shared.GetHexString(40, lowercase: true);

    [Test]
    public async Task AWrongBearerKey_LogsOneWarning_WithTheAddressAndNotTheKey_AndNoMoreWithinTheMinute()
    {
        var key = MadeUpKey();
        using var client = From("127.0.0.21", new AuthenticationHeaderValue("Bearer", key));

        var first = await client.GetAsync("/tools?limit=5");
        var second = await client.GetAsync("/jobs");

        var lines = LinesFrom("127.0.0.21");
        Assert.Multiple(() =>
        {
            Assert.That(new[] { first.StatusCode, second.StatusCode }, Is.All.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(lines, Is.EqualTo(new[] { "Failed authentication (bearer) from 127.0.0.21 on /tools: no such key" }),
                "one line, with the path and not the query; the second failure within the minute is only counted");
            Assert.That(logs.Lines.Where(line => line.Contains(key[4..12], StringComparison.Ordinal) || line.Contains(key[^40..^32], StringComparison.Ordinal)),
                Is.Empty, "no part of the key, its id or its secret");
        });
    }

    [Test]
    public async Task WhatWasWrong_IsSaidInWords()
    {
        var revoked = await CreateKeyAsync();
        using (var admin = From("127.0.0.1", new AuthenticationHeaderValue("Bearer", AgentCorexApp.AdminKey)))
        {
            Assert.That((await admin.DeleteAsync($"/api_keys/{revoked.KeyId}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        var known = await CreateKeyAsync();
        (string Source, AuthenticationHeaderValue Header, string Path, string Said)[] cases =
        [
            ("127.0.0.31", new("Bearer", revoked.ApiKey), "/jobs", "(bearer) from 127.0.0.31 on /jobs: revoked key"),
            ("127.0.0.32", new("Bearer", known.ApiKey[..^1] + (known.ApiKey[^1] == 'a' ? 'b' : 'a')), "/jobs", "(bearer) from 127.0.0.32 on /jobs: wrong secret for an existing key"),
            ("127.0.0.33", new("Token", known.ApiKey), "/jobs", "(bearer) from 127.0.0.33 on /jobs: malformed credentials"),
            ("127.0.0.34", new("Bearer", known.ApiKey), "/hangfire", "(bearer) from 127.0.0.34 on /hangfire: not an admin key"),
            ("127.0.0.35", new("Bearer", known.ApiKey), "/metrics", "(bearer) from 127.0.0.35 on /metrics: not an admin key"),
        ];
        foreach (var (source, header, path, _) in cases)
        {
            using var client = From(source, header);
            Assert.That((await client.GetAsync(path)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), source);
        }

        Assert.Multiple(() =>
        {
            foreach (var (source, _, _, said) in cases)
            {
                Assert.That(LinesFrom(source), Is.EqualTo(new[] { "Failed authentication " + said }), source);
            }
        });
    }

    [Test]
    public async Task NoCredentials_AreNoFailedAuthentication()
    {
        using var client = From("127.0.0.41");

        var statuses = new[]
        {
            (await client.GetAsync("/jobs")).StatusCode,
            (await client.GetAsync("/hangfire")).StatusCode,
            (await client.GetAsync("/metrics")).StatusCode,
            (await client.GetAsync("/jobs/job_k3x9q2m7a1bz/stream")).StatusCode,
            (await client.PostAsync("/hangfire/login", new FormUrlEncodedContent([new("key", "")]))).StatusCode,
        };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", MadeUpKey());
        var withAKey = await client.GetAsync("/tools");

        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.All.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(withAKey.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(LinesFrom("127.0.0.41"), Is.EqualTo(new[] { "Failed authentication (bearer) from 127.0.0.41 on /tools: no such key" }),
                "only the request with a key, logged at once: the ones before were no failure from this address");
        });
    }

    [Test]
    public async Task AWrongPassword_OnTheDashboard_IsLogged_WithoutThePassword()
    {
        const string password = "correct-horse-battery-staple-42";
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + password));
        using var client = From("127.0.0.51", new AuthenticationHeaderValue("Basic", basic));

        var response = await client.GetAsync("/hangfire/jobs/enqueued");

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(LinesFrom("127.0.0.51"), Is.EqualTo(new[] { "Failed authentication (basic) from 127.0.0.51 on /hangfire/jobs/enqueued: no such key" }));
            Assert.That(logs.Lines.Where(line => line.Contains("horse", StringComparison.Ordinal) || line.Contains(basic[..12], StringComparison.Ordinal)), Is.Empty);
        });
    }

    [Test]
    public async Task FailedAuthentications_AreCounted_ByScheme()
    {
        using var admin = From("127.0.0.1", new AuthenticationHeaderValue("Bearer", AgentCorexApp.AdminKey));
        var before = await PrometheusText.ScrapeAsync(admin);
        string[] schemes = ["bearer", "basic", "form", "access_token"];

        using (var bearer = From("127.0.0.61", new AuthenticationHeaderValue("Bearer", MadeUpKey())))
        {
            await bearer.GetAsync("/jobs");
            await bearer.GetAsync("/jobs"); // not logged, still counted
        }
        using (var basic = From("127.0.0.62", new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("x:" + MadeUpKey())))))
        {
            await basic.GetAsync("/hangfire");
        }
        using var anonymous = From("127.0.0.63");
        await anonymous.PostAsync("/hangfire/login", new FormUrlEncodedContent([new("key", MadeUpKey())]));
        await anonymous.GetAsync($"/jobs/job_k3x9q2m7a1bz/stream?access_token={MadeUpKey()}");
        await anonymous.GetAsync("/jobs"); // no credentials: not counted

        var expected = new Dictionary<string, double> { ["bearer"] = 2, ["basic"] = 1, ["form"] = 1, ["access_token"] = 1 };
        var after = await PrometheusText.WaitForAsync(admin, scrape => schemes.All(scheme =>
            Failures(scrape, scheme) - Failures(before, scheme) >= expected[scheme]));
        Assert.Multiple(() =>
        {
            foreach (var scheme in schemes)
            {
                Assert.That(Failures(after, scheme) - Failures(before, scheme), Is.EqualTo(expected[scheme]), scheme);
            }
            Assert.That(after.Text, Does.Not.Contain("127.0.0.6"), "no address in a label");
        });
    }

    private static double Failures(PrometheusText scrape, string scheme) => scrape.Value("agentcorex_auth_failures_total", ("scheme", scheme));

    private async Task<CreatedKey> CreateKeyAsync()
    {
        using var admin = From("127.0.0.1", new AuthenticationHeaderValue("Bearer", AgentCorexApp.AdminKey));
        return await AgentCorexApp.CreateKeyAsync(admin);
    }
}
