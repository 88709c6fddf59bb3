using System.Security.Cryptography;
using AgentCorex.Web.Webhooks;

namespace AgentCorex.Tests.Webhooks;

/// <summary>Which secrets a client may register, and which still sign.</summary>
public sealed class WebhookSecretsTests
{
    private static readonly string Base64 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    [Test]
    public void ASecretWithWhiteSpace_CannotBeRegistered_ButOneStoredBefore_StillSigns()
    {
        var spaced = $"whsec_{Base64[..10]} {Base64[10..]}";

        Assert.Multiple(() =>
        {
            Assert.That(WebhookSecrets.IsWellFormed(spaced), Is.False, "receivers' libraries cannot decode it");
            Assert.That(WebhookSecrets.IsWellFormed($"whsec_{Base64}"), Is.True);
            // A webhook registered before such secrets were refused keeps its deliveries signed, as they were.
            Assert.That(WebhookSecrets.KeyOf(spaced), Is.EqualTo(Convert.FromBase64String(Base64)));
        });
    }
}
