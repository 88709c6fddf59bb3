using AgentCorex.Web.Errors;

namespace AgentCorex.Web.Shutdown;

public static class ShutdownErrors
{
    public static ApiException ShuttingDown() =>
        new(StatusCodes.Status503ServiceUnavailable, new ApiError(
            "SERVER_SHUTTING_DOWN", "This server is shutting down and takes no new executions; send the request to another node or retry shortly"));
}
