using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Jobs;

public static class JobErrors
{
    public const string ServerRestarted = "SERVER_RESTARTED";

    /// <summary>Longer than any job id: what a client sent is echoed only this far.</summary>
    private const int MaxEchoedId = 40;

    public static ApiException NotFound(string jobId) =>
        new(StatusCodes.Status404NotFound, new ApiError("JOB_NOT_FOUND", $"Job {Echo(jobId)} does not exist"));

    private static string Echo(string jobId) => jobId.Length <= MaxEchoedId ? jobId : $"{jobId[..MaxEchoedId]}...";

    public static ApiException CannotCancelRunning() =>
        new(StatusCodes.Status400BadRequest, new ApiError("CANNOT_CANCEL_RUNNING", "Cannot cancel a job that is already running"));

    public static ApiException AlreadyFinished(string jobId, string status) =>
        new(StatusCodes.Status400BadRequest, new ApiError("JOB_ALREADY_FINISHED", $"Job {jobId} has already finished ({status})"));
}
