using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Network;

/// <summary>
/// Applies <see cref="TargetAddressPolicy"/> to a URL a client gave us: when it is registered, and again on every
/// connection (<see cref="ConnectAsync"/>, a SocketsHttpHandler.ConnectCallback), which connects only to the
/// addresses it has just checked, so a name that resolves elsewhere between the check and the connect (DNS
/// rebinding) gains nothing. Network:AllowPrivateTargets=true turns the refusals off.
/// </summary>
public sealed class TargetGuard
{
    /// <summary>How long registration waits for a name to resolve; past it the name is taken as not resolving (yet).</summary>
    public static readonly TimeSpan RegistrationResolveTimeout = TimeSpan.FromSeconds(5);

    private readonly IOptions<NetworkOptions> options;
    private readonly TimeProvider time;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> resolve;

    public TargetGuard(IOptions<NetworkOptions> options, TimeProvider time) : this(options, time, Dns.GetHostAddressesAsync)
    {
    }

    /// <param name="resolve">The name resolver: DNS, or in tests one that answers what the test needs (this machine may have no DNS).</param>
    internal TargetGuard(IOptions<NetworkOptions> options, TimeProvider time, Func<string, CancellationToken, Task<IPAddress[]>> resolve)
    {
        this.options = options;
        this.time = time;
        this.resolve = resolve;
    }

    private bool AllowPrivate => options.Value.AllowPrivateTargets;

    /// <summary>
    /// Null when the host may be reached, or does not resolve (yet); otherwise why not, for the client. A name that
    /// does not resolve, has no address or takes longer than <see cref="RegistrationResolveTimeout"/> is accepted:
    /// every connection checks it again, so refusing it would protect nothing and only stop a receiver registered
    /// before its DNS record exists.
    /// </summary>
    public async Task<string?> CheckAsync(Uri url, CancellationToken cancellationToken)
    {
        if (AllowPrivate)
        {
            return null;
        }
        try
        {
            // WaitAsync: the resolver may not stop at the token (getaddrinfo runs its own timeouts, up to 30 s or so).
            await ResolveAllowedAsync(url.IdnHost, cancellationToken).WaitAsync(RegistrationResolveTimeout, time, cancellationToken);
            return null;
        }
        catch (ForbiddenTargetException refused)
        {
            return refused.Message;
        }
        catch (Exception e) when (e is UnresolvedTargetException or TimeoutException)
        {
            return null;
        }
    }

    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await ResolveAllowedAsync(context.DnsEndPoint.Host, cancellationToken);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The host's addresses, all of them allowed; a host with any forbidden address is refused whole.</summary>
    private async Task<IPAddress[]> ResolveAllowedAsync(string host, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await ResolveAsync(host, cancellationToken);
        if (!AllowPrivate && addresses.FirstOrDefault(TargetAddressPolicy.IsForbidden) is { } forbidden)
        {
            throw new ForbiddenTargetException(
                $"'url' host {host} resolves to {forbidden}, a loopback, private, link-local or metadata address, which webhooks may not reach");
        }
        return addresses;
    }

    private async Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        try
        {
            addresses = await resolve(host, cancellationToken);
        }
        catch (SocketException e)
        {
            throw new UnresolvedTargetException($"{host} did not resolve ({e.Message})");
        }
        return addresses.Length > 0 ? addresses : throw new UnresolvedTargetException($"{host} did not resolve (it has no address)");
    }
}

/// <summary>A host name that does not resolve (no such name, no address, the resolver failing): a connection error, retried.</summary>
public sealed class UnresolvedTargetException(string message) : Exception(message);

/// <summary>A connection refused by <see cref="TargetAddressPolicy"/>; it is not retried.</summary>
public sealed class ForbiddenTargetException(string message) : Exception(message);
