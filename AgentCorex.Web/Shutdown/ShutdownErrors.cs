using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Shutdown;

public static class ShutdownErrors
{
    /// <summary>A new execution asked of a stopping server.</summary>
    public static ApiException ShuttingDown() =>
        new(StatusCodes.Status503ServiceUnavailable, new ApiError(
            ErrorCodes.ServerShuttingDown, "This server is shutting down and starts no new executions; send the request to another node or retry shortly"));

    /// <summary>A new stream asked of a stopping server, which ends its open streams too.</summary>
    public static ApiException NoNewStreams() =>
        new(StatusCodes.Status503ServiceUnavailable, new ApiError(
            ErrorCodes.ServerShuttingDown, "This server is shutting down and opens no new streams; connect to another node"));

    /// <summary>A direct execution still running at the stopping server's deadline (Jobs:ShutdownTimeout).</summary>
    public static ApiException CutOff() =>
        new(StatusCodes.Status503ServiceUnavailable, new ApiError(
            ErrorCodes.ServerShuttingDown, "This server shut down before the tool finished: it was stopped at the server's shutdown deadline; retry on another node"));
}
