using System.Net;
using System.Net.Sockets;
using AgentCorex.Web.Monitoring;

namespace AgentCorex.Web.Auth;

/// <summary>
/// Where every refusal of presented credentials is reported: the API's Bearer and access_token, the dashboard's
/// Basic, Bearer and login form, /metrics. Each is counted (agentcorex.auth.failures) and logged at Warning, as
/// <see cref="FailureLogThrottle"/> lets through, with the scheme, the remote address (<see cref="Sender"/>), the path and what was wrong;
/// never with any part of the credentials, not even a prefix: a typo of a real key would show most of it. A request
/// without credentials is not reported (browsers ask for /hangfire without any first).
/// </summary>
public sealed partial class FailedAuthentications : IDisposable
{
    private const int MaxPathLength = 200;

    private readonly AgentCorexMetrics metrics;
    private readonly ILogger<FailedAuthentications> logger;
    private readonly FailureLogThrottle throttle;
    private readonly ITimer sweeps;

    public FailedAuthentications(AgentCorexMetrics metrics, TimeProvider time, ILogger<FailedAuthentications> logger)
    {
        this.metrics = metrics;
        this.logger = logger;
        throttle = new FailureLogThrottle(time);
        // Without it, what an address sent after its last line would be told only at its next failure, maybe never.
        sweeps = time.CreateTimer(_ => Sweep(), null, FailureLogThrottle.Window, FailureLogThrottle.Window);
    }

    public void Report(HttpContext context, CredentialFailure failure)
    {
        metrics.AuthenticationFailed(failure.SchemeLabel, failure.FaultLabel);
        var address = RemoteAddress(context);
        switch (throttle.Admit(address))
        {
            case 0:
                LogFailed(logger, failure.SchemeLabel, address, PathOf(context.Request), failure.FaultInWords);
                break;
            case { } suppressed:
                LogFailedAgain(logger, failure.SchemeLabel, address, PathOf(context.Request), failure.FaultInWords, suppressed);
                break;
        }
    }

    /// <summary>
    /// A refusal at a door only admin keys open (the dashboard's): <paramref name="check"/> is what the presented key
    /// came to, or null when no key could be read from what was presented.
    /// </summary>
    public void ReportAdminRefusal(HttpContext context, CredentialScheme scheme, ApiKeyCheck? check) =>
        Report(context, new CredentialFailure(scheme, check is { } checkedKey ? checkedKey.AdminFault ?? CredentialFault.NotAdmin : CredentialFault.Malformed));

    public void Dispose() => sweeps.Dispose();

    private void Sweep()
    {
        var (addresses, untracked) = throttle.Sweep();
        foreach (var (address, suppressed) in addresses)
        {
            LogSuppressed(logger, suppressed, address);
        }
        if (untracked > 0)
        {
            LogUntracked(logger, untracked, FailureLogThrottle.MaxAddresses);
        }
    }

    private static string RemoteAddress(HttpContext context) => Sender(context.Connection.RemoteIpAddress);

    /// <summary>
    /// The sender failures are logged and throttled by: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or an IPv6
    /// address's /64 prefix ("2001:db8:1:2::/64"). A single host is commonly given a whole /64: by its addresses one by
    /// one it would fill the throttle's table, and every other sender's failures would then go unlogged.
    /// </summary>
    internal static string Sender(IPAddress? ip)
    {
        switch (ip)
        {
            case null:
                return "unknown";
            case { IsIPv4MappedToIPv6: true }:
                return ip.MapToIPv4().ToString();
            case { AddressFamily: AddressFamily.InterNetworkV6 }:
                Span<byte> bytes = stackalloc byte[16];
                ip.TryWriteBytes(bytes, out _);
                bytes[8..].Clear();
                return $"{new IPAddress(bytes)}/64";
            default:
                return ip.ToString();
        }
    }

    /// <summary>The path as a URI writes it (escaped: a %0A in it cannot forge a line), without the query, and cut short.</summary>
    private static string PathOf(HttpRequest request)
    {
        var path = (request.PathBase + request.Path).ToUriComponent();
        return path.Length <= MaxPathLength ? path : path[..MaxPathLength] + "...";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Failed authentication ({Scheme}) from {RemoteAddress} on {Path}: {Fault}")]
    private static partial void LogFailed(ILogger logger, string scheme, string remoteAddress, string path, string fault);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Failed authentication ({Scheme}) from {RemoteAddress} on {Path}: {Fault}; {Suppressed} more from this address since its last line were not logged")]
    private static partial void LogFailedAgain(ILogger logger, string scheme, string remoteAddress, string path, string fault, long suppressed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Suppressed} more failed authentications from {RemoteAddress} since its last line were not logged")]
    private static partial void LogSuppressed(ILogger logger, long suppressed, string remoteAddress);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "{Untracked} failed authentications were not logged: they came from addresses beyond the {MaxAddresses} followed at once")]
    private static partial void LogUntracked(ILogger logger, long untracked, int maxAddresses);
}
