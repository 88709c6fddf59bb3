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

    [TestCase("93.184.215.14")]
    [TestCase("8.8.8.8")]
    [TestCase("172.32.0.1")]
    [TestCase("::ffff:8.8.8.8")]
    [TestCase("64:ff9b::808:808")]
    [TestCase("2606:4700:4700::1111")]
    [TestCase("2001:4860:4860::8888")]
    public void PublicAddresses_AreAllowed(string address) =>
        Assert.That(TargetAddressPolicy.IsForbidden(IPAddress.Parse(address)), Is.False);
}
