using System.Net;
using AgentCorex.Tests.Infrastructure;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Monitoring;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace AgentCorex.Tests.Auth;

/// <summary>Which failed authentications are logged, on a clock the test moves (FailedAuthenticationTests has them over HTTP).</summary>
public sealed class FailureLogThrottleTests
{
    private readonly FakeTimeProvider time = new(DateTimeOffset.Parse("2026-11-30T10:00:00Z"));

    [Test]
    public void AnAddress_IsLoggedAtOnce_ThenOnceAMinute_WithHowManyWereNotLogged()
    {
        var throttle = new FailureLogThrottle(time);

        var first = throttle.Admit("10.0.0.1");
        var withinTheMinute = new[] { throttle.Admit("10.0.0.1"), throttle.Admit("10.0.0.1"), throttle.Admit("10.0.0.1") };
        var another = throttle.Admit("10.0.0.2");
        time.Advance(TimeSpan.FromSeconds(59));
        var stillWithin = throttle.Admit("10.0.0.1");
        time.Advance(TimeSpan.FromSeconds(1));
        var afterTheMinute = throttle.Admit("10.0.0.1");
        var afterThat = throttle.Admit("10.0.0.1");

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Zero, "logged, nothing left out before it");
            Assert.That(withinTheMinute, Is.All.Null);
            Assert.That(another, Is.Zero, "another address is logged at once");
            Assert.That(stillWithin, Is.Null);
            Assert.That(afterTheMinute, Is.EqualTo(4), "logged, saying that 4 were not");
            Assert.That(afterThat, Is.Null, "a new minute begins");
        });
    }

    [Test]
    public void ASweep_TellsWhatWasNotLogged_AndForgetsQuietAddresses()
    {
        var throttle = new FailureLogThrottle(time);
        throttle.Admit("10.0.0.1");
        throttle.Admit("10.0.0.1");
        throttle.Admit("10.0.0.1");
        throttle.Admit("10.0.0.2");

        var early = throttle.Sweep();
        time.Advance(FailureLogThrottle.Window);
        var due = throttle.Sweep();
        var again = throttle.Admit("10.0.0.1");
        time.Advance(FailureLogThrottle.Window);
        var quiet = throttle.Sweep();
        time.Advance(FailureLogThrottle.Window);
        throttle.Sweep();

        Assert.Multiple(() =>
        {
            Assert.That(early.Addresses, Is.Empty, "within the minute");
            Assert.That(due.Addresses, Is.EqualTo(new[] { ("10.0.0.1", 2L) }), "10.0.0.2 had none left out");
            Assert.That(again, Is.Null, "the sweep's line began a new minute");
            Assert.That(quiet.Addresses, Is.EqualTo(new[] { ("10.0.0.1", 1L) }));
            Assert.That(throttle.Admit("10.0.0.2"), Is.Zero, "forgotten once quiet for a minute: logged at once again");
            Assert.That(throttle.Admit("10.0.0.1"), Is.Zero);
        });
    }

    [Test]
    public void AddressesBeyondTheCap_AreOnlyCounted_UntilQuietOnesAreForgotten()
    {
        var throttle = new FailureLogThrottle(time, maxAddresses: 2);
        throttle.Admit("10.0.0.1");
        throttle.Admit("10.0.0.2");

        var beyond = new[] { throttle.Admit("10.0.0.3"), throttle.Admit("10.0.0.4"), throttle.Admit("10.0.0.3") };
        var tracked = throttle.Admit("10.0.0.1");
        time.Advance(FailureLogThrottle.Window);
        var swept = throttle.Sweep();
        var roomAgain = throttle.Admit("10.0.0.3");

        Assert.Multiple(() =>
        {
            Assert.That(beyond, Is.All.Null, "a fuzzer on many addresses does not flood the log");
            Assert.That(tracked, Is.Null, "a tracked address keeps its minute");
            Assert.That(swept.Untracked, Is.EqualTo(3));
            Assert.That(swept.Addresses, Is.EqualTo(new[] { ("10.0.0.1", 1L) }));
            Assert.That(roomAgain, Is.Zero, "10.0.0.2, quiet, was forgotten");
        });
    }

    [Test]
    public void FailuresNotLogged_AreToldAfterTheMinute_WithoutAnotherFailure()
    {
        var logs = new CapturedLogs();
        using var services = FailedAuthenticationsLoggingTo(logs);
        var failures = services.GetRequiredService<FailedAuthentications>();

        for (var i = 0; i < 5; i++)
        {
            failures.Report(FailureFrom("::ffff:10.0.0.1"), NoSuchKey);
        }
        var beforeTheMinute = logs.At(LogLevel.Warning);
        time.Advance(FailureLogThrottle.Window);

        Assert.Multiple(() =>
        {
            Assert.That(beforeTheMinute, Is.EqualTo(new[] { "AgentCorex.Web.Auth.FailedAuthentications: Failed authentication (bearer) from 10.0.0.1 on /jobs: no such key " }));
            Assert.That(logs.At(LogLevel.Warning).Skip(1), Is.EqualTo(new[]
            {
                "AgentCorex.Web.Auth.FailedAuthentications: 4 more failed authentications from 10.0.0.1 since its last line were not logged ",
            }));
        });
    }

    [TestCase("203.0.113.7", "203.0.113.7")]
    [TestCase("::ffff:10.0.0.1", "10.0.0.1")]
    [TestCase("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [TestCase("2001:db8:1:2::1", "2001:db8:1:2::/64")]
    [TestCase("fe80::1%3", "fe80::/64")]
    [TestCase("::1", "::/64")]
    public void ASender_IsItsIPv4Address_OrItsIPv6Slash64(string address, string sender) =>
        Assert.That(FailedAuthentications.Sender(IPAddress.Parse(address)), Is.EqualTo(sender));

    /// <summary>One host given a /64 sends from more addresses of it than the table holds: still one sender, and others are logged.</summary>
    [Test]
    public void AddressesOfOneSlash64_AreOneSender_AndDoNotCrowdOutAnother()
    {
        var logs = new CapturedLogs();
        using var services = FailedAuthenticationsLoggingTo(logs);
        var failures = services.GetRequiredService<FailedAuthentications>();

        for (var i = 1; i <= FailureLogThrottle.MaxAddresses + 1; i++)
        {
            failures.Report(FailureFrom($"2001:db8:1:2::{i:x}"), NoSuchKey);
        }
        failures.Report(FailureFrom("2001:db8:1:3::1"), NoSuchKey);
        time.Advance(FailureLogThrottle.Window);

        Assert.That(logs.At(LogLevel.Warning), Is.EqualTo(new[]
        {
            "AgentCorex.Web.Auth.FailedAuthentications: Failed authentication (bearer) from 2001:db8:1:2::/64 on /jobs: no such key ",
            "AgentCorex.Web.Auth.FailedAuthentications: Failed authentication (bearer) from 2001:db8:1:3::/64 on /jobs: no such key ",
            $"AgentCorex.Web.Auth.FailedAuthentications: {FailureLogThrottle.MaxAddresses} more failed authentications from 2001:db8:1:2::/64 since its last line were not logged ",
        }));
    }

    private static readonly CredentialFailure NoSuchKey = new(CredentialScheme.Bearer, CredentialFault.NoSuchKey);

    private ServiceProvider FailedAuthenticationsLoggingTo(CapturedLogs logs) =>
        new ServiceCollection().AddMetrics().AddSingleton<AgentCorexMetrics>()
            .AddLogging(logging => logging.AddProvider(logs)).AddSingleton<TimeProvider>(time).AddSingleton<FailedAuthentications>()
            .BuildServiceProvider();

    /// <summary>A request to /jobs from <paramref name="address"/>.</summary>
    private static DefaultHttpContext FailureFrom(string address)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);
        context.Request.Path = "/jobs";
        return context;
    }
}
