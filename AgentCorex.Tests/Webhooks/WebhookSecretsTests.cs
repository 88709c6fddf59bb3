using System.Security.Cryptography;
using System.Text.RegularExpressions;
using AgentCorex.Tools;
using AgentCorex.Web.Webhooks;

namespace AgentCorex.Tests.Webhooks;

/// <summary>Which secrets a client may register, and which still sign.</summary>
public sealed class WebhookSecretsTests
{
    private static readonly string Base64 = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>What POST /webhooks takes, and the OpenAPI document states (ApiDocsTests checks the pattern byte count by byte count).</summary>
    private static readonly Regex WellFormed = PublishedPatterns.Strict(WebhookSecrets.Pattern);

    [Test]
    public void ASecretWithWhiteSpace_CannotBeRegistered_ButOneStoredBefore_StillSigns()
    {
        var spaced = $"whsec_{Base64[..10]} {Base64[10..]}";

        Assert.Multiple(() =>
        {
            Assert.That(WellFormed.IsMatch(spaced), Is.False, "receivers' libraries cannot decode it");
            Assert.That(WellFormed.IsMatch($"whsec_{Base64}"), Is.True);
            // A webhook registered before such secrets were refused keeps its deliveries signed, as they were.
            Assert.That(WebhookSecrets.KeyOf(spaced), Is.EqualTo(Convert.FromBase64String(Base64)));
        });
    }
}
