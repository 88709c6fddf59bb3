using AgentCorex.Web.Api;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Docs;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.RateLimits;
using AgentCorex.Web.Storage;
using FluentValidation;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;

namespace AgentCorex.Web.Auth;

[ApiController]
[Route("api_keys")]
[Authorize(Policy = ApiKeyPolicies.Admin)]
public sealed class ApiKeysController(AgentCorexDb db, ApiKeyAuthenticator authenticator, KeyLimits limits, TimeProvider time) : ControllerBase
{
    [HttpPost(Name = "createApiKey")]
    [EndpointSummary("Create an API key (admin)")]
    [ProducesResponseType<CreatedApiKeyResponse>(StatusCodes.Status201Created, "application/json")]
    [CreatedLocation("/api_keys/{key_id}")]
    public async Task<ActionResult<CreatedApiKeyResponse>> Create(
        CreateApiKeyRequest request, [FromServices] IValidator<CreateApiKeyRequest> validator, CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(request);
        var (keyId, apiKey, hash) = ApiKeySecrets.Generate();
        var perMinute = request.RateLimits?.OwnRequestsPerMinute ?? OwnLimit.Plans;
        var maxConcurrent = request.RateLimits?.OwnMaxConcurrent ?? OwnLimit.Plans;
        var key = new ApiKey
        {
            Id = keyId,
            Name = request.Name!.Trim(),
            Plan = request.Plan!,
            IsAdmin = request.Admin ?? false,
            SecretHash = hash,
            CreatedAt = time.GetUtcNow().UtcDateTime,
            RequestsPerMinute = perMinute.Limit,
            RequestsPerMinuteUnlimited = perMinute.Unlimited,
            MaxConcurrent = maxConcurrent.Limit,
            MaxConcurrentUnlimited = maxConcurrent.Unlimited,
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return Created(Url.Content($"~/api_keys/{key.Id}"), key.ToCreatedResponse(apiKey, limits));
    }

    /// <summary>Every key, revoked ones too (with their revoked_at), newest first.</summary>
    [HttpGet(Name = "listApiKeys")]
    [EndpointSummary("List every API key, revoked ones too, newest first (admin)")]
    public async Task<ApiKeyListResponse> List([FromQuery] PageQuery query, [FromServices] IValidator<PageQuery> validator, CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(query);
        var total = await db.ApiKeys.CountAsync(cancellationToken);
        var page = await db.ApiKeyPage(query).ToListAsync(cancellationToken);
        return new ApiKeyListResponse([.. page.Select(k => k.ToResponse(limits))], new Pagination(query.Limit, query.Offset, total));
    }

    /// <summary>One key, revoked or not, as GET /api_keys lists it.</summary>
    [HttpGet("{key_id}", Name = "getApiKey")]
    [EndpointSummary("Read an API key (admin)")]
    public async Task<ApiKeyResponse> Get([FromRoute(Name = "key_id")] string keyId, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken) ?? throw ApiErrors.ApiKeyNotFound(keyId);
        return key.ToResponse(limits);
    }

    [HttpDelete("{key_id}", Name = "revokeApiKey")]
    [EndpointSummary("Revoke an API key, canceling its queued jobs (admin)")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status409Conflict, "application/json", Description = "LAST_ADMIN_KEY: the key is the last admin key and no Auth:AdminKey is configured; it is not revoked")]
    public async Task<ApiKeyResponse> Revoke([FromRoute(Name = "key_id")] string keyId, [FromServices] RevokedKeyJobs jobs, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken) ?? throw ApiErrors.ApiKeyNotFound(keyId);
        key.RevokedAt ??= await RevokeAsync(key, cancellationToken);
        authenticator.Forget(keyId);
        // The revocation is stored: a client gone now must not stop its cancel part way (as a stored job cancel, JobsController).
        await jobs.CancelQueuedAsync(keyId, CancellationToken.None);
        return key.ToResponse(limits);
    }

    /// <summary>
    /// Revokes a key in one conditional UPDATE, and says when it was revoked (by this or a revocation that came first).
    /// An admin key is revoked only while another admin key stays active or Auth:AdminKey is configured: else nothing
    /// could administer the server again. Such revocations take a lock of their own on a server database, as the
    /// statement's check alone would not do there: read committed, two revocations at once of the last two admin keys
    /// would each find the other still active, and leave none. The embedded database applies writes one at a time.
    /// </summary>
    private async Task<DateTime> RevokeAsync(ApiKey key, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var leavesAnAdmin = !key.IsAdmin || authenticator.HasConfiguredAdminKey;
        await using var alone = leavesAnAdmin
            ? null
            : await ClusterLock.TakeAsync(db, DatabaseLocks.AdminKeyRevocation, DatabaseLocks.SqlServerAdminKeyRevocation, cancellationToken);
        var revoked = await db.ApiKeys
            .Where(k => k.Id == key.Id && k.RevokedAt == null
                && (leavesAnAdmin || db.ApiKeys.Any(other => other.IsAdmin && other.RevokedAt == null && other.Id != key.Id)))
            .ExecuteUpdateAsync(set => set.SetProperty(k => k.RevokedAt, now), cancellationToken);
        if (revoked == 1)
        {
            return now;
        }
        var stored = await db.ApiKeys.AsNoTracking().SingleAsync(k => k.Id == key.Id, cancellationToken);
        return stored.RevokedAt ?? throw ApiErrors.LastAdminKey(key.Id);
    }

    /// <summary>Changes a key's name, plan or its own limits; other nodes see it within Auth:KeyCacheTtl.</summary>
    [HttpPatch("{key_id}", Name = "updateApiKey")]
    [EndpointSummary("Change an API key's name, plan or own limits (admin)")]
    [EndpointDescription("Give at least one change: a name or a plan (not null), rate_limits with at least one of its fields (a "
        + "number, or null for no limit), or reset_rate_limits true (the plan's limits again). A body that gives none is refused "
        + "with 400 INVALID_ARGUMENTS \"Nothing to change\": {} (the schema's minProperties), and also fields that are all null, "
        + "rate_limits {} or reset_rate_limits false alone, which the schema cannot forbid since each is taken beside a change.")]
    [ProducesResponseType<ErrorEnvelope>(StatusCodes.Status409Conflict, "application/json", Description = "API_KEY_REVOKED: the key has been revoked; a revoked key is not changed")]
    public async Task<ApiKeyResponse> Update(
        [FromRoute(Name = "key_id")] string keyId,
        UpdateApiKeyRequest request,
        [FromServices] IValidator<UpdateApiKeyRequest> validator,
        [FromServices] ExecutionSlots slots,
        CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(request);
        // A limit given is the key's own (null: none at all); one left out stays as it is, or with reset is the plan's again.
        var reset = request.ResetRateLimits == true ? OwnLimit.Plans : (OwnLimit?)null;
        var perMinute = request.RateLimits?.OwnRequestsPerMinute ?? reset;
        var maxConcurrent = request.RateLimits?.OwnMaxConcurrent ?? reset;
        // One conditional UPDATE: a revocation committed at any moment before it wins, even one that lands between a
        // read of the key and its write. Only the fields asked for are written, so PATCHes of different fields at once
        // both stand.
        var changed = await db.ApiKeys.Where(k => k.Id == keyId && k.RevokedAt == null).ExecuteUpdateAsync(set =>
        {
            if (request.Name is { } name)
            {
                set.SetProperty(k => k.Name, name.Trim());
            }
            if (request.Plan is { } plan)
            {
                set.SetProperty(k => k.Plan, plan);
            }
            if (perMinute is { } ownPerMinute)
            {
                set.SetProperty(k => k.RequestsPerMinute, ownPerMinute.Limit);
                set.SetProperty(k => k.RequestsPerMinuteUnlimited, ownPerMinute.Unlimited);
            }
            if (maxConcurrent is { } ownMaxConcurrent)
            {
                set.SetProperty(k => k.MaxConcurrent, ownMaxConcurrent.Limit);
                set.SetProperty(k => k.MaxConcurrentUnlimited, ownMaxConcurrent.Unlimited);
            }
        }, cancellationToken);
        var key = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken) ?? throw ApiErrors.ApiKeyNotFound(keyId);
        if (changed == 0)
        {
            throw ApiErrors.ApiKeyRevoked(keyId);
        }
        authenticator.Forget(keyId);
        await slots.OnSlotFreedAsync(keyId, CancellationToken.None); // a raised limit (stored) hands parked jobs over at once
        return key.ToResponse(limits);
    }
}
