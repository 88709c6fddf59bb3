using AgentCorex.Web.Auth;

namespace AgentCorex.Tests.Auth;

public sealed class ApiKeySecretsTests
{
    [TestCase("the-admin-key", "the-admin-key", true)]
    [TestCase("the-admin-kez", "the-admin-key", false)]
    [TestCase("xhe-admin-key", "the-admin-key", false)]
    [TestCase("the-admin-ke", "the-admin-key", false)]
    [TestCase("the-admin-keythe-admin-key", "the-admin-key", false)]
    [TestCase("", "the-admin-key", false)]
    [TestCase("", "", false)]
    [TestCase("anything", "", false)]
    public void ConfiguredKey_MatchesOnlyItself(string presented, string expected, bool matches) =>
        Assert.That(ApiKeySecrets.EqualsInConstantTime(presented, expected), Is.EqualTo(matches));
}
