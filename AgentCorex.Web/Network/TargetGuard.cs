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
public sealed class TargetGuard(IOptions<NetworkOptions> options)
{
    private bool AllowPrivate => options.Value.AllowPrivateTargets;

    /// <summary>Null when the host may be reached; otherwise why not, for the client.</summary>
    public async Task<string?> CheckAsync(Uri url, CancellationToken cancellationToken)
    {
        if (AllowPrivate)
        {
            return null;
        }
        try
        {
            await ResolveAllowedAsync(url.IdnHost, cancellationToken);
            return null;
        }
        catch (ForbiddenTargetException refused)
        {
            return refused.Message;
        }
        catch (SocketException)
        {
            return $"'url' host {url.Host} could not be resolved";
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
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        if (!AllowPrivate && addresses.FirstOrDefault(TargetAddressPolicy.IsForbidden) is { } forbidden)
        {
            throw new ForbiddenTargetException(
                $"'url' host {host} resolves to {forbidden}, a loopback, private, link-local or metadata address, which webhooks may not reach");
        }
        return addresses;
    }
}

/// <summary>A connection refused by <see cref="TargetAddressPolicy"/>; it is not retried.</summary>
public sealed class ForbiddenTargetException(string message) : Exception(message);
