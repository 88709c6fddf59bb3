using System.Text.Json;
using AgentCorex.Web.Errors;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Data.Sqlite;
using static SQLitePCL.raw;

namespace AgentCorex.Web.Jobs;

/// <summary>
/// The <c>Idempotency-Key</c> header of a job's submit (<c>POST /jobs/submit</c>, <c>POST /execute_tool</c> with mode
/// "async"): a client that did not get the answer (a timeout, a connection lost) sends the same submit with the same
/// key again and gets the job the first one made, answered as it was (202, the same job_id), with
/// <c>Idempotent-Replayed: true</c>; no second job runs. The key is its owner's, kept as long as the job's row (see
/// Jobs:Retention); the same key with another tool, other arguments or another timeout is refused 422
/// IDEMPOTENCY_KEY_REUSED. Two submits with one key at once make one job: the ledger's unique index decides.
/// </summary>
public static class IdempotencyKeys
{
    public const string Header = "Idempotency-Key";

    /// <summary>The answer's header that says it is the first submit's job, not a new one.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    public const int MaxLength = 255;

    /// <summary>What a key is, as the OpenAPI document publishes it.</summary>
    public const string Pattern = "^[!-+\\--~]{1,255}$";

    public const string IndexName = "ux_jobs_owner_idempotency_key";

    public const string HeaderDescription =
        "Makes the submit safe to retry: a second submit of the key's with the same Idempotency-Key answers the job the first " +
        "made (202, the same job_id, Idempotent-Replayed: true) instead of making another, as long as that job is in the " +
        "ledger; with another tool, other arguments or another timeout_ms it is refused 422 IDEMPOTENCY_KEY_REUSED. " +
        "1 to 255 visible ASCII characters, no comma, such as a UUID.";

    public const string ReusedDescription =
        "IDEMPOTENCY_KEY_REUSED: the Idempotency-Key was sent before with another tool, other arguments or another timeout_ms";

    /// <summary>
    /// The request's key, or null when it sent none. 1 to 255 visible ASCII characters but the comma (a UUID, a hash, a
    /// client's own id), one header: anything else is refused 400 INVALID_REQUEST, not taken for another key. No comma,
    /// as a proxy may join two header lines into one with one (RFC 9110, 5.3), which would pass for one key.
    /// </summary>
    public static string? Read(HttpRequest request)
    {
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return null;
        }
        if (values.Count != 1)
        {
            throw ApiErrors.InvalidRequest($"{Header} must be sent once");
        }
        var key = values[0] ?? "";
        if (key.Length is 0 or > MaxLength || key.Any(c => c is < '!' or > '~' or ','))
        {
            throw ApiErrors.InvalidRequest($"{Header} must be 1 to {MaxLength} visible ASCII characters, no space or comma");
        }
        return key;
    }

    /// <summary>The refusal of a key sent with a direct execution, which would run the tool again on every retry all the same.</summary>
    public static ApiException NotForDirectExecutions() =>
        ApiErrors.InvalidRequest($"{Header} applies to jobs: send it with mode \"async\", or to POST /jobs/submit");

    /// <summary>Whether the earlier job of the key was submitted with this tool, these arguments (in any order of their fields) and timeout.</summary>
    public static bool SameSubmit(JobEntry earlier, string tool, JsonElement arguments, int timeoutMs)
    {
        if (earlier.Tool != tool || earlier.TimeoutMs != timeoutMs)
        {
            return false;
        }
        using var stored = JsonDocument.Parse(earlier.Arguments);
        return JsonElement.DeepEquals(stored.RootElement, arguments);
    }

    public static ApiException Reused(string key, string jobId) =>
        new(StatusCodes.Status422UnprocessableEntity, new ApiError(
            ErrorCodes.IdempotencyKeyReused,
            $"{Header} {ApiErrors.Echo(key, ApiErrors.MaxEchoedId)} was sent with another submit (job {jobId}): another tool, other arguments or another timeout_ms",
            Details: new Dictionary<string, object?> { ["job_id"] = jobId }));

    /// <summary>
    /// Whether an insert failed on a unique index: a submit with the same key committed first (the job id, random, does
    /// not collide). The caller then reads that job; finding none, it rethrows.
    /// </summary>
    public static bool IsDuplicate(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case SqliteException { SqliteErrorCode: SQLITE_CONSTRAINT }:
                case Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation }:
                case Microsoft.Data.SqlClient.SqlException { Number: 2601 or 2627 }:
                    return true;
            }
        }
        return false;
    }
}

public static class AcceptedJobResults
{
    /// <summary>202 with the job's Location, and Idempotent-Replayed: true when it is an earlier submit's job answered again.</summary>
    public static AcceptedResult AcceptedJob(this ControllerBase controller, SubmittedJobResponse submitted)
    {
        if (submitted.Replayed)
        {
            controller.Response.Headers[IdempotencyKeys.ReplayedHeader] = "true";
        }
        return controller.Accepted(controller.Url.Content($"~/jobs/{submitted.JobId}"), submitted);
    }
}
