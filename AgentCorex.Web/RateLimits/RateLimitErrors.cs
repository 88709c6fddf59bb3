using AgentCorex.Web.Errors;

namespace AgentCorex.Web.RateLimits;

public static class RateLimitErrors
{
    public static ApiException Exceeded(int perMinute, long retryAfterSeconds) =>
        new(StatusCodes.Status429TooManyRequests, new ApiError(
            ErrorCodes.RateLimitExceeded,
            $"Rate limit of {perMinute} requests per minute exceeded; retry in {retryAfterSeconds} s",
            Details: new Dictionary<string, object?> { ["limit"] = perMinute, ["retry_after"] = retryAfterSeconds }))
        {
            RetryAfter = TimeSpan.FromSeconds(retryAfterSeconds),
        };

    /// <summary>A direct execution over the key's limit: a slot may free at any moment, so a second is worth a retry.</summary>
    public static ApiException ConcurrencyExceeded(int maxConcurrent) =>
        new(StatusCodes.Status429TooManyRequests, new ApiError(
            ErrorCodes.RateLimitExceeded,
            $"Limit of {maxConcurrent} tool executions at once reached; retry when one of this key's executions or jobs ends",
            Details: new Dictionary<string, object?> { ["max_concurrent"] = maxConcurrent }))
        {
            RetryAfter = TimeSpan.FromSeconds(1),
        };

    /// <summary>
    /// A submit of a key with Jobs:MaxQueuedPerKey jobs queued already: a job leaves the queue as a worker starts it, so
    /// a second is worth a retry, as for a slot.
    /// </summary>
    public static ApiException QueuedJobsExceeded(int maxQueued) =>
        new(StatusCodes.Status429TooManyRequests, new ApiError(
            ErrorCodes.RateLimitExceeded,
            $"This key already has {maxQueued} jobs queued (at most Jobs:MaxQueuedPerKey); retry when one of them starts or is canceled",
            Details: new Dictionary<string, object?> { ["max_queued"] = maxQueued }))
        {
            RetryAfter = TimeSpan.FromSeconds(1),
        };
}
