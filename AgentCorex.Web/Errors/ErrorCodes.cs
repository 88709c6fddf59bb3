namespace AgentCorex.Web.Errors;

/// <summary>
/// Every <c>error.code</c> the API answers: the one list, which the typed errors (ApiErrors, JobErrors, ...) take their
/// codes from and the OpenAPI document publishes as the code's enum, so that a client can switch over them. A code
/// added here is published; one written anywhere else would answer a code the document does not list.
/// </summary>
public static class ErrorCodes
{
    public const string InvalidArguments = "INVALID_ARGUMENTS";
    public const string InvalidRequest = "INVALID_REQUEST";
    public const string Unauthorized = "UNAUTHORIZED";
    public const string Forbidden = "FORBIDDEN";
    public const string NotFound = "NOT_FOUND";
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";
    public const string RequestTimeout = "REQUEST_TIMEOUT";
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    public const string UriTooLong = "URI_TOO_LONG";
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";
    public const string HeadersTooLarge = "HEADERS_TOO_LARGE";
    public const string RateLimitExceeded = "RATE_LIMIT_EXCEEDED";
    public const string InternalError = "INTERNAL_ERROR";
    public const string DatabaseUnavailable = "DATABASE_UNAVAILABLE";
    public const string ServerShuttingDown = "SERVER_SHUTTING_DOWN";
    public const string ToolNotFound = "TOOL_NOT_FOUND";
    public const string ExecutionError = "EXECUTION_ERROR";
    public const string ExecutionTimeout = "EXECUTION_TIMEOUT";
    public const string JobNotFound = "JOB_NOT_FOUND";
    public const string CannotCancelRunning = "CANNOT_CANCEL_RUNNING";
    public const string JobAlreadyFinished = "JOB_ALREADY_FINISHED";
    public const string TooManyStreams = "TOO_MANY_STREAMS";
    public const string ApiKeyNotFound = "API_KEY_NOT_FOUND";
    public const string ApiKeyRevoked = "API_KEY_REVOKED";
    public const string LastAdminKey = "LAST_ADMIN_KEY";
    public const string WebhookNotFound = "WEBHOOK_NOT_FOUND";
    public const string WebhookLimitReached = "WEBHOOK_LIMIT_REACHED";
    public const string IdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED";

    /// <summary>
    /// The codes above, in their order (the document's), written out: reflection does not promise the order of a type's
    /// fields. A code added above is added here too; ApiDocsTests fail on one that is not.
    /// </summary>
    public static readonly IReadOnlyList<string> All =
    [
        InvalidArguments, InvalidRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, RequestTimeout,
        PayloadTooLarge, UriTooLong, UnsupportedMediaType, HeadersTooLarge, RateLimitExceeded, InternalError,
        DatabaseUnavailable, ServerShuttingDown, ToolNotFound, ExecutionError, ExecutionTimeout, JobNotFound,
        CannotCancelRunning, JobAlreadyFinished, TooManyStreams, ApiKeyNotFound, ApiKeyRevoked, LastAdminKey,
        WebhookNotFound, WebhookLimitReached, IdempotencyKeyReused
    ];
}
