using System.Net;
using System.Net.Sockets;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Network;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Webhooks;

/// <summary>The guard as the webhook HttpClient uses it: the check happens at connect time, on the addresses connected to.</summary>
public sealed class TargetGuardTests
{
    private static readonly Uri Receiver = new("https://receiver.example/hook");

    /// <summary>A guard whose resolver answers <paramref name="resolve"/>, on a clock the test moves.</summary>
    private static TargetGuard RegistrationGuard(Func<Task<IPAddress[]>> resolve, TimeProvider? time = null) =>
        new(Options.Create(new NetworkOptions()), time ?? TimeProvider.System, (_, _) => resolve());

    [Test]
    public async Task Check_RefusesANameResolvingToAPrivateAddress()
    {
        var guard = RegistrationGuard(() => Task.FromResult(new[] { IPAddress.Parse("93.184.215.14"), IPAddress.Parse("10.1.2.3") }));

        Assert.That(await guard.CheckAsync(Receiver, CancellationToken.None), Does.Contain("resolves to 10.1.2.3").And.Contain("may not reach"));
    }

    [Test]
    public async Task Check_AcceptsANameWithNoAddressYet()
    {
        var guard = RegistrationGuard(() => Task.FromResult(Array.Empty<IPAddress>()));

        Assert.That(await guard.CheckAsync(Receiver, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Check_AcceptsANameTheResolverFailsOn()
    {
        var guard = RegistrationGuard(() => Task.FromException<IPAddress[]>(new SocketException((int)SocketError.TryAgain)));

        Assert.That(await guard.CheckAsync(Receiver, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Check_AcceptsAName_WhoseResolverGivesNoAnswerInTime()
    {
        var time = new FakeTimeProvider();
        var guard = RegistrationGuard(() => new TaskCompletionSource<IPAddress[]>().Task, time);

        var check = guard.CheckAsync(Receiver, CancellationToken.None);
        time.Advance(TargetGuard.RegistrationResolveTimeout);

        Assert.That(await check.WaitAsync(TimeSpan.FromSeconds(10)), Is.Null);
    }

    private static HttpClient ClientWith(bool allowPrivate) =>
        new(new SocketsHttpHandler { ConnectCallback = new TargetGuard(Options.Create(new NetworkOptions { AllowPrivateTargets = allowPrivate }), TimeProvider.System).ConnectAsync, UseProxy = false });

    [Test]
    public async Task ConnectCallback_RefusesLoopback_BeforeAnythingIsSent()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var endpoint = receiver.NewEndpoint();
        using var client = ClientWith(allowPrivate: false);

        var error = Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(endpoint, new StringContent("{}")));

        Assert.That(error!.InnerException, Is.TypeOf<ForbiddenTargetException>());
        Assert.That(receiver.Received(endpoint), Is.Empty);
    }

    [Test]
    public async Task ConnectCallback_RefusesANameResolvingToLoopback()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var endpoint = receiver.NewEndpoint().Replace("127.0.0.1", "localhost");
        using var client = ClientWith(allowPrivate: false);

        var error = Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(endpoint, new StringContent("{}")));

        Assert.That(error!.InnerException, Is.TypeOf<ForbiddenTargetException>());
    }

    /// <summary>A name whose address embeds a private one in an IPv6 form (DNS rebinding to it) is refused at the connection too.</summary>
    [TestCase("::ffff:0:7f00:1")]
    [TestCase("64:ff9b::7f00:1")]
    public void ConnectCallback_RefusesANameResolvingToAnIPv6FormOfLoopback(string address)
    {
        var guard = RegistrationGuard(() => Task.FromResult(new[] { IPAddress.Parse(address) }));
        using var client = new HttpClient(new SocketsHttpHandler { ConnectCallback = guard.ConnectAsync, UseProxy = false });

        var error = Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(Receiver, new StringContent("{}")));

        Assert.That(error!.InnerException, Is.TypeOf<ForbiddenTargetException>(), error.InnerException?.ToString());
    }

    [Test]
    public async Task ConnectCallback_Connects_WhenPrivateTargetsAreAllowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var endpoint = receiver.NewEndpoint();
        using var client = ClientWith(allowPrivate: true);

        var response = await client.PostAsync(endpoint, new StringContent("{}"));

        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(receiver.Received(endpoint), Has.Count.EqualTo(1));
    }
}
