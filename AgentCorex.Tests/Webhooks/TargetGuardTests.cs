using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Network;
using Microsoft.Extensions.Options;

namespace AgentCorex.Tests.Webhooks;

/// <summary>The guard as the webhook HttpClient uses it: the check happens at connect time, on the addresses connected to.</summary>
public sealed class TargetGuardTests
{
    private static HttpClient ClientWith(bool allowPrivate) =>
        new(new SocketsHttpHandler { ConnectCallback = new TargetGuard(Options.Create(new NetworkOptions { AllowPrivateTargets = allowPrivate })).ConnectAsync, UseProxy = false });

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
