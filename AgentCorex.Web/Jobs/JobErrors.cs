using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Jobs;

public static class JobErrors
{
    public const string ServerRestarted = "SERVER_RESTARTED";

    public static ApiException NotFound(string jobId) =>
        new(StatusCodes.Status404NotFound, new ApiError(ErrorCodes.JobNotFound, $"Job {ApiErrors.Echo(jobId, ApiErrors.MaxEchoedId)} does not exist"));

    public static ApiException CannotCancelRunning() =>
        new(StatusCodes.Status400BadRequest, new ApiError(ErrorCodes.CannotCancelRunning, "Cannot cancel a job that is already running"));

    public static ApiException AlreadyFinished(string jobId, string status) =>
        new(StatusCodes.Status400BadRequest, new ApiError(ErrorCodes.JobAlreadyFinished, $"Job {jobId} has already finished ({status})"));
}
