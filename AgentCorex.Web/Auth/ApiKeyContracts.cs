using System.ComponentModel;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using AgentCorex.Tools;
using AgentCorex.Web.Api;
using AgentCorex.Web.Docs;
using AgentCorex.Web.Errors;
using AgentCorex.Web.RateLimits;
using FluentValidation;

namespace AgentCorex.Web.Auth;

// A key's settings are refused with a field they do not have: a misspelt limit, silently dropped, would leave the key
// with its plan's limits.
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CreateApiKeyRequest(string? Name, string? Plan, bool? Admin, KeyRateLimitsRequest? RateLimits);

/// <summary>
/// A key's own limits, instead of its plan's: a number, or null for no limit at all. A field left out is not changed
/// (on POST: the plan's), so whether it was given is kept apart from its value.
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record KeyRateLimitsRequest
{
    [Description("The key's own limit of execution requests per minute, instead of its plan's; null for no limit at all; left out, unchanged (a new key's: its plan's)")]
    public int? RequestsPerMinute
    {
        get;
        init
        {
            field = value;
            GivesRequestsPerMinute = true;
        }
    }

    [Description("The key's own limit of tool executions at once, instead of its plan's; null for no limit at all; left out, unchanged (a new key's: its plan's)")]
    public int? MaxConcurrent
    {
        get;
        init
        {
            field = value;
            GivesMaxConcurrent = true;
        }
    }

    [JsonIgnore]
    public bool GivesRequestsPerMinute { get; private init; }

    [JsonIgnore]
    public bool GivesMaxConcurrent { get; private init; }

    /// <summary>The key's own requests per minute as given; null when left out.</summary>
    [JsonIgnore]
    public OwnLimit? OwnRequestsPerMinute => GivesRequestsPerMinute ? OwnLimit.Given(RequestsPerMinute) : null;

    /// <summary>The key's own executions at once as given; null when left out.</summary>
    [JsonIgnore]
    public OwnLimit? OwnMaxConcurrent => GivesMaxConcurrent ? OwnLimit.Given(MaxConcurrent) : null;
}

/// <summary>A limit of a key as stored (<see cref="ApiKey"/>): its own number, none at all (Unlimited), or neither: its plan's.</summary>
public readonly record struct OwnLimit(int? Limit, bool Unlimited)
{
    public static readonly OwnLimit Plans = new(null, false);

    /// <summary>A limit given in a request: a number, or null for none at all.</summary>
    public static OwnLimit Given(int? limit) => new(limit, limit is null);
}

/// <summary>PATCH /api_keys/{key_id}: a new name, a new plan, own limits, or (reset_rate_limits) back to the plan's.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateApiKeyRequest(string? Name, string? Plan, KeyRateLimitsRequest? RateLimits, bool? ResetRateLimits);

public sealed class KeyRateLimitsRequestValidator : AbstractValidator<KeyRateLimitsRequest>
{
    public KeyRateLimitsRequestValidator()
    {
        RuleFor(r => r.RequestsPerMinute).InclusiveBetween(1, 1_000_000);
        RuleFor(r => r.MaxConcurrent).InclusiveBetween(1, 10_000);
    }
}

public sealed class UpdateApiKeyRequestValidator : AbstractValidator<UpdateApiKeyRequest>
{
    public UpdateApiKeyRequestValidator()
    {
        RuleFor(r => r.Name).IsKeyName();
        RuleFor(r => r.Plan)
            .IsOneOf(ApiKeyRules.Plans)
            .WithMessage($"'plan' must be one of: {string.Join(", ", ApiKeyRules.Plans)}");
        RuleFor(r => r.RateLimits!).SetValidator(new KeyRateLimitsRequestValidator()).When(r => r.RateLimits is not null);
        // A rule on the whole request: no one field is missing more than the others, so the error names none.
        RuleFor(r => r)
            .Must(r => r.Name is not null || r.Plan is not null || r.ResetRateLimits == true
                || r.RateLimits is { GivesRequestsPerMinute: true } or { GivesMaxConcurrent: true })
            .WithMessage("Nothing to change: give name, plan, rate_limits or reset_rate_limits");
    }
}

public sealed class CreateApiKeyRequestValidator : AbstractValidator<CreateApiKeyRequest>
{
    public CreateApiKeyRequestValidator()
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("Missing required argument: name").IsKeyName();
        RuleFor(r => r.Plan).NotEmpty().WithMessage("Missing required argument: plan")
            .IsOneOf(ApiKeyRules.Plans)
            .WithMessage($"'plan' must be one of: {string.Join(", ", ApiKeyRules.Plans)}");
        RuleFor(r => r.RateLimits!).SetValidator(new KeyRateLimitsRequestValidator()).When(r => r.RateLimits is not null);
    }
}

internal static class ApiKeyNameRule
{
    private static readonly Regex RefusedCharacter = PublishedPatterns.Strict($"[{ApiKeyRules.Refused}]");

    /// <summary>
    /// A name, where one is given: at most ApiKeyRules.MaxNameLength characters, none of them refused (control and format
    /// characters, line and paragraph separators), not all of them invisible. One published pattern checks both, so that
    /// the OpenAPI document states all of it; the message says which it was. Checks that let null pass, so that the
    /// OpenAPI document carries them for PATCH too.
    /// </summary>
    public static IRuleBuilderOptions<T, string?> IsKeyName<T>(this IRuleBuilder<T, string?> name) =>
        name.MaximumLength(ApiKeyRules.MaxNameLength)
            .MatchesPublished(ApiKeyRules.NamePattern)
            .WithMessage((_, n) => RefusedCharacter.IsMatch(n!)
                ? "'name' must not contain control characters, format characters (bidi controls, zero-width characters) or line separators"
                : "'name' must not be blank");
}

/// <summary>The limits in force for a key (its own, else its plan's); null, left out, means no limit.</summary>
public sealed record KeyRateLimitsResponse(
    [property: Description("Execution requests per minute in force for the key (its own, else its plan's); left out when it has no limit")] int? RequestsPerMinute,
    [property: Description("Tool executions at once in force for the key (its own, else its plan's); left out when it has no limit")] int? MaxConcurrent);

public sealed record ApiKeyResponse(
    string KeyId,
    string Name,
    [property: PublishedValues(typeof(ApiKeyRules), nameof(ApiKeyRules.Plans))] string Plan,
    bool Admin,
    long CreatedAt,
    long? RevokedAt,
    KeyRateLimitsResponse RateLimits);

public sealed record CreatedApiKeyResponse(
    string KeyId,
    string ApiKey,
    string Name,
    [property: PublishedValues(typeof(ApiKeyRules), nameof(ApiKeyRules.Plans))] string Plan,
    bool Admin,
    long CreatedAt,
    KeyRateLimitsResponse RateLimits);

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyResponse> ApiKeys, Pagination Pagination);

internal static class ApiKeyMapping
{
    public static ApiKeyResponse ToResponse(this ApiKey key, KeyLimits limits) =>
        new(key.Id, key.Name, key.Plan, key.IsAdmin, key.CreatedAt.ToUnixSeconds(), key.RevokedAt.ToUnixSeconds(), key.Limits(limits));

    public static CreatedApiKeyResponse ToCreatedResponse(this ApiKey key, string apiKey, KeyLimits limits) =>
        new(key.Id, apiKey, key.Name, key.Plan, key.IsAdmin, key.CreatedAt.ToUnixSeconds(), key.Limits(limits));

    private static KeyRateLimitsResponse Limits(this ApiKey key, KeyLimits limits)
    {
        var identity = key.ToIdentity();
        return new KeyRateLimitsResponse(limits.RequestsPerMinute(identity), limits.MaxConcurrent(identity));
    }
}
