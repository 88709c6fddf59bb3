using AgentCorex.Web.Api;
using AgentCorex.Web.Auth;
using AgentCorex.Web.Concurrency;
using AgentCorex.Web.Docs;
using AgentCorex.Web.Errors;
using AgentCorex.Web.Execution;
using AgentCorex.Web.Jobs;
using AgentCorex.Web.Network;
using AgentCorex.Web.Storage;
using FluentValidation;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AgentCorex.Web.Webhooks;

[ApiController]
[Route("webhooks")]
public sealed class WebhooksController(AgentCorexDb db, WebhookSubscriptions subscriptions, IOptions<WebhooksOptions> options, TimeProvider time) : ControllerBase
{
    private string CallerKeyId => ApiKeyIdentity.From(User).KeyId;

    [HttpPost(Name = "createWebhook")]
    [EndpointSummary("Register a webhook for the caller's job events")]
    [ProducesResponseType<CreatedWebhookResponse>(StatusCodes.Status201Created, "application/json")]
    [CreatedLocation("/webhooks/{webhook_id}")]
    [ProducesResponseType<LimitErrorEnvelope>(StatusCodes.Status409Conflict, "application/json", Description = "WEBHOOK_LIMIT_REACHED: the key has Webhooks:MaxPerKey webhooks already (error.details.limit)")]
    public async Task<ActionResult<CreatedWebhookResponse>> Create(
        CreateWebhookRequest request,
        [FromServices] IValidator<CreateWebhookRequest> validator,
        [FromServices] TargetGuard guard,
        [FromServices] WebhookSecrets secrets,
        [FromServices] KeySlotLock keyLock,
        CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(request);
        var url = new Uri(request.Url!);
        if (await guard.CheckAsync(url, cancellationToken) is { } refused)
        {
            throw ApiErrors.InvalidArguments(refused, "url");
        }
        var owner = CallerKeyId;
        var limit = options.Value.MaxPerKey;
        var secret = request.Secret ?? WebhookSecrets.Generate();
        var webhook = new Webhook
        {
            Id = ExecutionIds.New("wh_"),
            OwnerKeyId = owner,
            Url = request.Url!,
            Events = string.Join(',', request.Events!),
            ProtectedSecret = secrets.Protect(secret),
            CreatedAt = time.GetUtcNow().UtcDateTime,
        };
        // Counted and added under the key's lock, on every node: registrations sent at once would otherwise each find
        // room for one more, and the key end with more than its limit.
        await keyLock.RunAsync(() => db, owner, async token =>
        {
            if (await db.Webhooks.CountAsync(w => w.OwnerKeyId == owner, token) >= limit)
            {
                throw WebhookErrors.LimitReached(limit);
            }
            db.Webhooks.Add(webhook);
            return await db.SaveChangesAsync(token);
        }, cancellationToken);
        subscriptions.Forget(owner);
        return Created(Url.Content($"~/webhooks/{webhook.Id}"), webhook.ToCreatedResponse(secret));
    }

    [HttpGet(Name = "listWebhooks")]
    [EndpointSummary("List the caller's webhooks")]
    public async Task<WebhookListResponse> List(CancellationToken cancellationToken)
    {
        var owner = CallerKeyId;
        var webhooks = await db.Webhooks.AsNoTracking()
            .Where(w => w.OwnerKeyId == owner)
            .OrderBy(w => w.CreatedAt).ThenBy(w => w.Id)
            .ToListAsync(cancellationToken);
        return new WebhookListResponse([.. webhooks.Select(w => w.ToResponse())]);
    }

    /// <summary>One of the caller's webhooks, as GET /webhooks lists it.</summary>
    [HttpGet("{webhook_id}", Name = "getWebhook")]
    [EndpointSummary("Read one of the caller's webhooks")]
    public async Task<WebhookResponse> Get([FromRoute(Name = "webhook_id")] string webhookId, CancellationToken cancellationToken) =>
        (await FindOwnAsync(webhookId, cancellationToken)).ToResponse();

    [HttpDelete("{webhook_id}", Name = "deleteWebhook")]
    [EndpointSummary("Delete a webhook; it gets no more deliveries")]
    public async Task<WebhookResponse> Delete([FromRoute(Name = "webhook_id")] string webhookId, [FromServices] ReceiverGate gate, CancellationToken cancellationToken)
    {
        var webhook = await FindOwnAsync(webhookId, cancellationToken);
        await db.Webhooks.Where(w => w.Id == webhook.Id).ExecuteDeleteAsync(cancellationToken);
        subscriptions.Forget(webhook.OwnerKeyId);
        gate.Forget(webhook.Id);
        return webhook.ToResponse();
    }

    /// <summary>The newest deliveries first, each with its attempts.</summary>
    [HttpGet("{webhook_id}/deliveries", Name = "listWebhookDeliveries")]
    [EndpointSummary("List a webhook's deliveries, newest first, each with its attempts")]
    public async Task<DeliveryListResponse> Deliveries(
        [FromRoute(Name = "webhook_id")] string webhookId, [FromQuery] PageQuery query, [FromServices] IValidator<PageQuery> validator, CancellationToken cancellationToken)
    {
        validator.ValidateOrThrow(query);
        var webhook = await FindOwnAsync(webhookId, cancellationToken);
        var deliveries = db.WebhookDeliveries.AsNoTracking().Where(d => d.WebhookId == webhook.Id);
        var total = await deliveries.CountAsync(cancellationToken);
        if (query.Offset >= total)
        {
            // Past the end there is nothing to read: the empty page, without a statement for it.
            return new DeliveryListResponse([], new Pagination(query.Limit, query.Offset, total));
        }
        // One statement, so a delivery and its attempts are read as of one moment: two reads could show an
        // attempt recorded after its delivery row was read, with the delivery's state from before it.
        var page = await deliveries.OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id)
            .Skip(query.Offset).Take(query.Limit)
            .Select(d => new { Delivery = d, Attempts = db.WebhookAttempts.Where(a => a.DeliveryId == d.Id).ToList() })
            .ToListAsync(cancellationToken);
        return new DeliveryListResponse([.. page.Select(p => p.Delivery.ToResponse(p.Attempts))], new Pagination(query.Limit, query.Offset, total));
    }

    private async Task<Webhook> FindOwnAsync(string webhookId, CancellationToken cancellationToken)
    {
        var owner = CallerKeyId;
        return await db.Webhooks.AsNoTracking().SingleOrDefaultAsync(w => w.Id == webhookId && w.OwnerKeyId == owner, cancellationToken)
            ?? throw WebhookErrors.NotFound(webhookId);
    }
}
