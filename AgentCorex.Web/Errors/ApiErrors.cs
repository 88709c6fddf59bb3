using AgentCorex.Web.Execution;
using Microsoft.AspNetCore.Http;

namespace AgentCorex.Web.Errors;

/// <summary>The errors the API answers, each with its HTTP status; their codes are <see cref="ErrorCodes"/>.</summary>
public static class ApiErrors
{
    /// <param name="argument">The field at fault; null when no one field is (a request with none of the fields it needs one of).</param>
    public static ApiException InvalidArguments(string message, string? argument) =>
        new(StatusCodes.Status400BadRequest, new ApiError(ErrorCodes.InvalidArguments, message, argument));

    public static ApiException InvalidRequest(string message) =>
        new(StatusCodes.Status400BadRequest, new ApiError(ErrorCodes.InvalidRequest, message));

    /// <summary>The name is echoed only as far as the longest a tool can have: it may be a megabyte of a request's body.</summary>
    public static ApiException ToolNotFound(string tool) =>
        new(StatusCodes.Status404NotFound, new ApiError(ErrorCodes.ToolNotFound, $"Tool {Echo(tool, ExecutionRequestRules.MaxToolNameLength)} does not exist"));

    /// <summary>
    /// What a client sent, echoed in a message up to <paramref name="max"/> characters and cut there with "...", so
    /// that a name or id longer than any real one does not come back whole. A cut never splits a surrogate pair.
    /// </summary>
    public static string Echo(string value, int max)
    {
        if (value.Length <= max)
        {
            return value;
        }
        var cut = char.IsHighSurrogate(value[max - 1]) ? max - 1 : max;
        return $"{value[..cut]}...";
    }

    /// <summary>Longer than any id the server makes (a job's, a key's, a webhook's): an id is echoed only this far.</summary>
    public const int MaxEchoedId = 40;

    /// <summary>Longer than any field's or argument's path a request can rightly have: a name it gives is echoed only this far.</summary>
    public const int MaxEchoedName = 128;

    public static ApiException ExecutionError(string message, IReadOnlyDictionary<string, object?>? details = null) =>
        new(StatusCodes.Status500InternalServerError, new ApiError(ErrorCodes.ExecutionError, message, Details: details));

    public static ApiException ExecutionTimeout(long timeoutMs) =>
        new(StatusCodes.Status504GatewayTimeout, new ApiError(ErrorCodes.ExecutionTimeout, $"Tool execution exceeded {timeoutMs}ms timeout"));

    public static ApiException Unauthorized(string message) =>
        new(StatusCodes.Status401Unauthorized, new ApiError(ErrorCodes.Unauthorized, message));

    public static ApiException Forbidden() =>
        new(StatusCodes.Status403Forbidden, new ApiError(ErrorCodes.Forbidden, "This endpoint needs an admin key"));

    public static ApiException NotFound(string message) =>
        new(StatusCodes.Status404NotFound, new ApiError(ErrorCodes.NotFound, message));

    public static ApiException ApiKeyNotFound(string keyId) =>
        new(StatusCodes.Status404NotFound, new ApiError(ErrorCodes.ApiKeyNotFound, $"API key {Echo(keyId, MaxEchoedId)} does not exist"));

    /// <summary>A revoked key stays listed, with its revoked_at, but is never changed again: a revocation is final.</summary>
    public static ApiException ApiKeyRevoked(string keyId) =>
        new(StatusCodes.Status409Conflict, new ApiError(ErrorCodes.ApiKeyRevoked, $"API key {keyId} has been revoked and cannot be changed"));

    /// <summary>
    /// The one admin key left, with no Auth:AdminKey configured: revoked, nothing could administer the server again (the
    /// bootstrap key is printed once, at the first start only).
    /// </summary>
    public static ApiException LastAdminKey(string keyId) =>
        new(StatusCodes.Status409Conflict, new ApiError(ErrorCodes.LastAdminKey,
            $"API key {keyId} is the last admin key, and no Auth:AdminKey is configured: revoking it would leave the server with no admin key. " +
            "Create another admin key first (POST /api_keys with admin: true), or configure Auth:AdminKey"));

    /// <summary>A body sent compressed (Content-Encoding): RFC 9110's answer to a coding the server does not take is 415.</summary>
    public static ApiException ContentEncodingUnsupported() =>
        new(StatusCodes.Status415UnsupportedMediaType, new ApiError(ErrorCodes.UnsupportedMediaType, "The request body must be sent uncompressed: Content-Encoding is not supported"));

    /// <summary>A request line over <see cref="RequestHeadLimits.MaxRequestLineBytes"/>: a path or query too long.</summary>
    public static ApiException UriTooLong() =>
        new(StatusCodes.Status414UriTooLong, new ApiError(
            ErrorCodes.UriTooLong, $"The request line is longer than {RequestHeadLimits.MaxRequestLineBytes} bytes"));

    /// <summary>Headers over <see cref="RequestHeadLimits.MaxHeaderBytes"/> or <see cref="RequestHeadLimits.MaxHeaderCount"/> fields.</summary>
    public static ApiException HeadersTooLarge() =>
        new(StatusCodes.Status431RequestHeaderFieldsTooLarge, new ApiError(
            ErrorCodes.HeadersTooLarge, $"The request's headers are larger than {RequestHeadLimits.MaxHeaderBytes} bytes or more than {RequestHeadLimits.MaxHeaderCount} fields"));

    /// <summary>What such a fault is said as, saying nothing of it: here, and as the message of a job it ended (ToolJob).</summary>
    public const string InternalMessage = "The server failed to handle the request";

    /// <summary>
    /// An exception nothing meant for the client: the server's own fault (or a tool's, outside its run), logged with its
    /// <paramref name="fault"/> where it is handled; the client learns nothing of it.
    /// </summary>
    public static ApiException Internal(Exception? fault = null) =>
        new(StatusCodes.Status500InternalServerError, new ApiError(ErrorCodes.InternalError, InternalMessage), fault);

    /// <summary>The database did not answer; nothing was done, and the same request may be sent again (to any node).</summary>
    public static ApiException DatabaseUnavailable(Exception cause) =>
        new(StatusCodes.Status503ServiceUnavailable, new ApiError(ErrorCodes.DatabaseUnavailable, "The database cannot be reached; retry shortly"), cause)
        {
            RetryAfter = TimeSpan.FromSeconds(5),
        };

    /// <summary>The error for a bare status code that carried no body (unknown route, wrong method, media type).</summary>
    public static ApiException ForStatusCode(int statusCode) => statusCode switch
    {
        StatusCodes.Status404NotFound => NotFound("No such route"),
        StatusCodes.Status405MethodNotAllowed => new(statusCode, new ApiError(ErrorCodes.MethodNotAllowed, "This route does not accept that method")),
        StatusCodes.Status408RequestTimeout => new(statusCode, new ApiError(ErrorCodes.RequestTimeout, "The request body did not arrive in time")),
        StatusCodes.Status413PayloadTooLarge => new(statusCode, new ApiError(ErrorCodes.PayloadTooLarge, "The request body is larger than allowed")),
        StatusCodes.Status414UriTooLong => UriTooLong(),
        StatusCodes.Status431RequestHeaderFieldsTooLarge => HeadersTooLarge(),
        StatusCodes.Status415UnsupportedMediaType => new(statusCode, new ApiError(ErrorCodes.UnsupportedMediaType, "The request body must be application/json")),
        StatusCodes.Status401Unauthorized => Unauthorized("A valid API key is required"),
        StatusCodes.Status403Forbidden => Forbidden(),
        // Any other keeps its status under its class's listed code: a code made of the status ("HTTP_409") was one the
        // document's enum of codes does not list, which a client generated from it cannot take.
        >= StatusCodes.Status500InternalServerError => new(statusCode, new ApiError(ErrorCodes.InternalError, InternalMessage)),
        _ => new(statusCode, new ApiError(ErrorCodes.InvalidRequest, "The request could not be served")),
    };
}
