namespace AgentCorex.Tests.Infrastructure;

/// <summary>A server fixture with a webhook receiver on loopback, which is why private targets are allowed.</summary>
public abstract class WebhookServerTest(TestStorage storage) : ServerTest(storage)
{
    protected WebhookReceiver Receiver { get; private set; } = null!;

    /// <summary>Webhooks settings this fixture's server runs with.</summary>
    protected abstract IDictionary<string, string?> WebhookSettings { get; }

    protected sealed override IDictionary<string, string?> Settings =>
        new Dictionary<string, string?>(WebhookSettings) { ["Network:AllowPrivateTargets"] = "true" };

    [OneTimeSetUp]
    public async Task StartReceiver() => Receiver = await WebhookReceiver.StartAsync();

    [OneTimeTearDown]
    public async Task StopReceiver() => await Receiver.DisposeAsync();
}
