using System.Net;
using AgentCorex.Web.Network;

namespace AgentCorex.Tests.Webhooks;

public sealed class TargetAddressPolicyTests
{
    [TestCase("127.0.0.1")]
    [TestCase("127.255.255.254")]
    [TestCase("10.1.2.3")]
    [TestCase("172.31.255.255")]
    [TestCase("192.168.0.1")]
    [TestCase("169.254.169.254")]
    [TestCase("100.100.100.200")]
    [TestCase("168.63.129.16")]
    [TestCase("0.0.0.0")]
    [TestCase("224.0.0.1")]
    [TestCase("255.255.255.255")]
    [TestCase("::")]
    [TestCase("::1")]
    [TestCase("fd00:ec2::254")]
    [TestCase("fc00::1")]
    [TestCase("fe80::1")]
    [TestCase("ff02::1")]
    [TestCase("::ffff:10.0.0.1")]
    [TestCase("::ffff:169.254.169.254")]
    [TestCase("64:ff9b::7f00:1")]
    [TestCase("2002:a9fe:a9fe::1")]
    [TestCase("::127.0.0.1")]
    [TestCase("64:ff9b:1::a00:1")]
    [TestCase("64:ff9b:1:ffff::1")]
    [TestCase("2001:2::1")]
    [TestCase("2001:10::1")]
    [TestCase("2001:2f:ffff::1")]
    [TestCase("3fff::1")]
    [TestCase("5f00::1")]
    public void PrivateAndMetadataAddresses_AreForbidden(string address) =>
        Assert.That(TargetAddressPolicy.IsForbidden(IPAddress.Parse(address)), Is.True);

    /// <summary>Each special-use range an outbound request must not reach, by an address at its edges, named in the test's name.</summary>
    [TestCase("::ffff:0:7f00:1", "::ffff:0:0:0/96 SIIT IPv4-translated, loopback inside")]
    [TestCase("::ffff:0:808:808", "::ffff:0:0:0/96 SIIT IPv4-translated, public inside")]
    [TestCase("::ffff:127.0.0.1", "::ffff:0:0/96 IPv4-mapped, loopback inside")]
    [TestCase("64:ff9b::a9fe:a9fe", "64:ff9b::/96 NAT64, link-local inside")]
    [TestCase("64:ff9b::a00:1", "64:ff9b::/96 NAT64, private inside")]
    [TestCase("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "64:ff9b:1::/48 local-use NAT64")]
    [TestCase("2002:7f00:1::1", "2002::/16 6to4, loopback inside")]
    [TestCase("2002:c0a8:101::1", "2002::/16 6to4, private inside")]
    [TestCase("::", "::/128 unspecified")]
    [TestCase("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/7 unique-local")]
    [TestCase("febf:ffff::1", "fe80::/10 link-local")]
    [TestCase("ff0e::1", "ff00::/8 multicast")]
    [TestCase("100.64.0.0", "100.64.0.0/10 shared CGNAT, first")]
    [TestCase("100.127.255.255", "100.64.0.0/10 shared CGNAT, last")]
    [TestCase("192.0.0.170", "192.0.0.0/24 IETF protocol assignments")]
    [TestCase("198.18.0.1", "198.18.0.0/15 benchmarking, first half")]
    [TestCase("198.19.255.254", "198.18.0.0/15 benchmarking, second half")]
    [TestCase("240.0.0.1", "240.0.0.0/4 reserved")]
    [TestCase("255.255.255.255", "255.255.255.255 limited broadcast")]
    public void SpecialUseRanges_AreForbidden(string address, string range) =>
        Assert.That(TargetAddressPolicy.IsForbidden(IPAddress.Parse(address)), Is.True, range);

    [TestCase("93.184.215.14")]
    [TestCase("8.8.8.8")]
    [TestCase("172.32.0.1")]
    [TestCase("::ffff:8.8.8.8")]
    [TestCase("64:ff9b::808:808")]
    [TestCase("2002:808:808::1")]
    [TestCase("100.63.255.255")]
    [TestCase("100.128.0.0")]
    [TestCase("198.20.0.1")]
    [TestCase("2606:4700:4700::1111")]
    [TestCase("2001:4860:4860::8888")]
    public void PublicAddresses_AreAllowed(string address) =>
        Assert.That(TargetAddressPolicy.IsForbidden(IPAddress.Parse(address)), Is.False);
}
