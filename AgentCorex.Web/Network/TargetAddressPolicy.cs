using System.Net;
using System.Net.Sockets;

namespace AgentCorex.Web.Network;

/// <summary>
/// Which addresses an outbound request made on a client's behalf may reach: public unicast only. Refused are
/// loopback, private, shared (CGNAT), link-local (which holds the 169.254.169.254 metadata service), unique-local
/// IPv6 (fd00:ec2::254), multicast, reserved and documentation ranges, and IPv6 forms that carry an IPv4 address
/// (mapped, NAT64, 6to4), which are judged by the IPv4 address inside, but for the translated forms of a local translator
/// (SIIT's ::ffff:0:0:0/96, NAT64's local-use 64:ff9b:1::/48), refused whatever they carry.
/// </summary>
public static class TargetAddressPolicy
{
    private static readonly IPNetwork[] ForbiddenV4 = Parse(
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
        "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        // Azure's platform endpoint (metadata and agent traffic), a public address that only answers inside Azure.
        "168.63.129.16/32");

    private static readonly IPNetwork[] ForbiddenV6 = Parse(
        "::/128", "::1/128", "::/96" /* IPv4-compatible, deprecated */, "100::/64", "2001::/32" /* Teredo */,
        "2001:2::/48" /* benchmarking */, "2001:10::/28", "2001:20::/28" /* ORCHID, ORCHIDv2: identifiers, never routed */, "2001:db8::/32", "3fff::/20" /* documentation, both */, "5f00::/16" /* SRv6 */,
        "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
        // IPv4-translated (SIIT, RFC 2765, ::ffff:0:a.b.c.d): how a stateless translator of the server's own network
        // names an IPv4 host, private ones included; never routed on the Internet, so refused whatever it carries.
        "::ffff:0:0:0/96",
        // Local-use IPv4/IPv6 translation (RFC 8215): a translator of the receiver's own network, which may carry any
        // IPv4 address, private ones included, at any of several offsets; unlike 64:ff9b::/96 it is never public.
        "64:ff9b:1::/48");

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return IsForbidden(address.MapToIPv4());
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return ForbiddenV4.Any(n => n.Contains(address));
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return true;
        }
        var bytes = address.GetAddressBytes();
        if (Nat64.Contains(address))
        {
            return IsForbidden(new IPAddress(bytes.AsSpan(12, 4)));
        }
        if (SixToFour.Contains(address))
        {
            return IsForbidden(new IPAddress(bytes.AsSpan(2, 4)));
        }
        return ForbiddenV6.Any(n => n.Contains(address));
    }

    private static IPNetwork[] Parse(params string[] networks) => [.. networks.Select(IPNetwork.Parse)];
}
