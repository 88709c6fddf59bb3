namespace AgentCorex.Web.Network;

public sealed class NetworkOptions
{
    public const string Section = "Network";

    /// <summary>
    /// Lets outbound requests (webhooks) reach loopback, private, link-local and metadata addresses. Off by
    /// default: a URL given by a client must not become a way into the server's own network.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }
}
