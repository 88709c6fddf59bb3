using AgentCorex.Web.Api;
using FluentValidation;

namespace AgentCorex.Web.Auth;

public sealed record CreateApiKeyRequest(string? Name, string? Plan, bool? Admin);

public sealed class CreateApiKeyRequestValidator : AbstractValidator<CreateApiKeyRequest>
{
    public CreateApiKeyRequestValidator()
    {
        RuleFor(r => r.Name).NotEmpty().WithMessage("Missing required argument: name")
            .MaximumLength(ApiKeyRules.MaxNameLength);
        RuleFor(r => r.Plan).NotEmpty().WithMessage("Missing required argument: plan")
            .Must(p => ApiKeyRules.Plans.Contains(p))
            .WithMessage($"'plan' must be one of: {string.Join(", ", ApiKeyRules.Plans)}");
    }
}

public sealed record ApiKeyResponse(string KeyId, string Name, string Plan, bool Admin, long CreatedAt, long? RevokedAt);

public sealed record CreatedApiKeyResponse(string KeyId, string ApiKey, string Name, string Plan, bool Admin, long CreatedAt);

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyResponse> ApiKeys);

internal static class ApiKeyMapping
{
    public static ApiKeyResponse ToResponse(this ApiKey key) =>
        new(key.Id, key.Name, key.Plan, key.IsAdmin, key.CreatedAt.ToUnixSeconds(), key.RevokedAt.ToUnixSeconds());

    public static CreatedApiKeyResponse ToCreatedResponse(this ApiKey key, string apiKey) =>
        new(key.Id, apiKey, key.Name, key.Plan, key.IsAdmin, key.CreatedAt.ToUnixSeconds());
}
