using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Webhooks;

public static class WebhookErrors
{
    /// <summary>Also for another key's webhook: its existence is not the caller's to know.</summary>
    public static ApiException NotFound(string webhookId) =>
        new(StatusCodes.Status404NotFound, new ApiError(ErrorCodes.WebhookNotFound, $"Webhook {ApiErrors.Echo(webhookId, ApiErrors.MaxEchoedId)} does not exist"));

    public static ApiException LimitReached(int limit) =>
        new(StatusCodes.Status409Conflict, new ApiError(
            ErrorCodes.WebhookLimitReached, $"This key already has {limit} webhooks, the most it may have; delete one first",
            Details: new Dictionary<string, object?> { ["limit"] = limit }));
}
