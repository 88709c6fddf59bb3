using AgentCorex.Web.Errors;
using AgentCorex.Web.Storage;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Auth;

[ApiController]
[Route("api_keys")]
[Authorize(Policy = ApiKeyPolicies.Admin)]
public sealed class ApiKeysController(AgentCorexDb db, ApiKeyAuthenticator authenticator, TimeProvider time) : ControllerBase
{
    [HttpPost]
    [ProducesResponseType<CreatedApiKeyResponse>(StatusCodes.Status201Created)]
    public async Task<ActionResult<CreatedApiKeyResponse>> Create(
        CreateApiKeyRequest request, [FromServices] IValidator<CreateApiKeyRequest> validator, CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(request);
        var (keyId, apiKey, hash) = ApiKeySecrets.Generate();
        var key = new ApiKey
        {
            Id = keyId,
            Name = request.Name!.Trim(),
            Plan = request.Plan!,
            IsAdmin = request.Admin ?? false,
            SecretHash = hash,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return StatusCode(StatusCodes.Status201Created, key.ToCreatedResponse(apiKey));
    }

    [HttpGet]
    public async Task<ApiKeyListResponse> List(CancellationToken cancellationToken)
    {
        var keys = await db.ApiKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ThenBy(k => k.Id).ToListAsync(cancellationToken);
        return new ApiKeyListResponse([.. keys.Select(k => k.ToResponse())]);
    }

    [HttpDelete("{keyId}")]
    public async Task<ApiKeyResponse> Revoke(string keyId, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken) ?? throw ApiErrors.ApiKeyNotFound(keyId);
        if (key.RevokedAt is null)
        {
            key.RevokedAt = time.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
        }
        authenticator.Forget(keyId);
        return key.ToResponse();
    }
}
