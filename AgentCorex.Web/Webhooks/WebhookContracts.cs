using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using AgentCorex.Tools;
using AgentCorex.Web.Api;
using AgentCorex.Web.Docs;
using AgentCorex.Web.Errors;
using FluentValidation;

namespace AgentCorex.Web.Webhooks;

/// <summary>POST /webhooks; a field it does not have (a misspelt "event") is refused, not dropped.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateWebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Secret);

public sealed class CreateWebhookRequestValidator : AbstractValidator<CreateWebhookRequest>
{
    public CreateWebhookRequestValidator()
    {
        RuleFor(r => r.Url).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("Missing required argument: url")
            .MaximumLength(WebhookRules.MaxUrlLength).WithMessage($"'url' must be at most {WebhookRules.MaxUrlLength} characters")
            // Uri trims and escapes white space and control characters, so deliveries would go elsewhere than the URL
            // stored and listed says; a format character (U+202E, a zero-width one) would reorder or hide what listings
            // and logs show of it, as it would a key's name.
            .Must(url => !url!.EnumerateRunes().Any(r => Rune.IsWhiteSpace(r) || Rune.IsControl(r) || Rune.GetUnicodeCategory(r) == UnicodeCategory.Format))
            .WithMessage("'url' must not contain white space, control or format characters: percent-encode them")
            .Must(BeHttpUrl).WithMessage("'url' must be an absolute http or https URL")
            .Must(url => new Uri(url!).Port > 0).WithMessage("'url' must not name port 0, which reaches no receiver")
            // It is shown in listings and logs; deliveries are authenticated by their signature instead.
            .Must(HaveNoUserInfo).WithMessage("'url' must not contain a user name or password: receivers verify the signature instead");
        RuleFor(r => r.Events).Cascade(CascadeMode.Stop)
            .NotNull().WithMessage("Missing required argument: events")
            .NotEmpty().WithMessage("'events' must name at least one event")
            .HasNoRepeats().WithMessage("'events' must not name an event twice");
        var notAnEvent = $"each of 'events' must be one of: {string.Join(", ", JobEventNames.All)}";
        RuleForEach(r => r.Events).Cascade(CascadeMode.Stop)
            .NotNull().WithMessage(notAnEvent)
            .IsOneOf(JobEventNames.All).WithMessage(notAnEvent);
        RuleFor(r => r.Secret)
            .MatchesPublished(WebhookSecrets.Pattern)
            .WithMessage($"'secret' must be {WebhookSecrets.Prefix} followed by the base64 of {WebhookSecrets.MinBytes} to {WebhookSecrets.MaxBytes} random bytes; leave it out to get one");
    }

    /// <summary>
    /// No user-info, not even an empty one: <c>https://@host/</c> has a <see cref="Uri.UserInfo"/> of "", while the URL
    /// listed and sent keeps its '@'. The authority keeps it too, and no host has one.
    /// </summary>
    private static bool HaveNoUserInfo(string? url) =>
        !new Uri(url!).GetComponents(UriComponents.StrongAuthority, UriFormat.UriEscaped).Contains('@', StringComparison.Ordinal);

    private static bool BeHttpUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && !string.IsNullOrEmpty(uri.Host);
}

/// <param name="DisabledAt">Set when the receiver answered 410 Gone: the webhook gets no more deliveries.</param>
public sealed record WebhookResponse(string WebhookId, string Url, [property: PublishedValues(typeof(JobEventNames))] IReadOnlyList<string> Events, long CreatedAt, long? DisabledAt);

/// <summary>The answer to a registration: the only time the secret is shown.</summary>
public sealed record CreatedWebhookResponse(string WebhookId, string Url, [property: PublishedValues(typeof(JobEventNames))] IReadOnlyList<string> Events, string Secret, long CreatedAt);

public sealed record WebhookListResponse(IReadOnlyList<WebhookResponse> Webhooks);

public sealed record AttemptResponse(int Attempt, int? StatusCode, long DurationMs, string? Error, long AttemptedAt);

public sealed record DeliveryResponse(
    string DeliveryId,
    [property: PublishedValues(typeof(JobEventNames))] string Event,
    string JobId,
    [property: AllowedValues(DeliveryStatus.Pending, DeliveryStatus.Delivered, DeliveryStatus.Failed)] string Status,
    long CreatedAt, long? NextAttemptAt, IReadOnlyList<AttemptResponse> Attempts);

public sealed record DeliveryListResponse(IReadOnlyList<DeliveryResponse> Deliveries, Pagination Pagination);

internal static class WebhookMapping
{
    public static WebhookResponse ToResponse(this Webhook webhook) =>
        new(webhook.Id, webhook.Url, webhook.EventNames, webhook.CreatedAt.ToUnixSeconds(), webhook.DisabledAt.ToUnixSeconds());

    public static CreatedWebhookResponse ToCreatedResponse(this Webhook webhook, string secret) =>
        new(webhook.Id, webhook.Url, webhook.EventNames, secret, webhook.CreatedAt.ToUnixSeconds());

    public static DeliveryResponse ToResponse(this WebhookDelivery delivery, IEnumerable<WebhookAttempt> attempts) =>
        new(delivery.Id, delivery.Event, delivery.JobId, delivery.Status, delivery.CreatedAt.ToUnixSeconds(),
            delivery.Status == DeliveryStatus.Pending ? delivery.NextAttemptAt.ToUnixSeconds() : null,
            [.. attempts.OrderBy(a => a.Attempt).Select(a => new AttemptResponse(a.Attempt, a.StatusCode, a.DurationMs, a.Error, a.AttemptedAt.ToUnixSeconds()))]);
}
